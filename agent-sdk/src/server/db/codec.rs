//! How the records' fields are written to SQL columns and read back, shared
//! by the SQLite and Postgres backends: statuses as their snake_case names,
//! counters as signed 64-bit integers (the type both databases have).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DbError;

pub(super) fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> DbError {
    DbError::Backend(error.into())
}

/// A status's name (`"running"`), as serde writes it.
pub(super) fn status_name<T: Serialize>(status: &T) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => name,
        other => unreachable!("statuses serialize as strings, got {other:?}"),
    }
}

/// A status read back from its name; an unknown name is a backend error
/// (a newer server wrote it).
pub(super) fn parse_status<T: DeserializeOwned>(name: &str) -> Result<T, DbError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| backend(format!("unknown status {name:?} in the database")))
}

pub(super) fn to_sql_int(value: u64) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|_| backend(format!("{value} does not fit a database integer")))
}

pub(super) fn from_sql_int(value: i64) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|_| backend(format!("negative counter {value} in the database")))
}

/// A usage report from its SQL sums: input, output tokens, cost, sessions, turns.
pub(super) fn usage_report(sums: (i64, i64, f64, i64, i64)) -> Result<super::UsageReport, DbError> {
    let (input, output, cost_usd, sessions, turns) = sums;
    Ok(super::UsageReport {
        usage: super::Usage {
            input_tokens: from_sql_int(input)?,
            output_tokens: from_sql_int(output)?,
            cost_usd,
        },
        sessions: from_sql_int(sessions)?,
        turns: from_sql_int(turns)?,
    })
}

pub(super) fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// A session's cost baseline as a JSON value (a column of its own).
pub(super) fn cost_json(cost: &crate::message::CostBaseline) -> serde_json::Value {
    serde_json::to_value(cost).expect("plain numbers serialize")
}

pub(super) fn parse_cost(
    value: serde_json::Value,
) -> Result<crate::message::CostBaseline, DbError> {
    serde_json::from_value(value).map_err(backend)
}

pub(super) fn parse_json(text: &str) -> Result<serde_json::Value, DbError> {
    serde_json::from_str(text).map_err(backend)
}
