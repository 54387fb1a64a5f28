//! Versioned schema migrations, shared by the SQL session stores and the
//! agent server's database: a one-row table holds the version, the steps
//! after it run in one transaction, and a database newer than this SDK is
//! refused rather than written with an older layout.

/// An error from the database driver, or the refusal of a newer schema.
pub(crate) type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// One schema's steps and where it keeps its version.
pub(crate) struct Schema {
    /// The table holding the version (its own per schema: several share a database).
    pub(crate) version_table: &'static str,
    /// What errors call it (`schema`, `server schema`).
    pub(crate) name: &'static str,
    /// The steps, oldest first; version N means the first N ran.
    pub(crate) migrations: &'static [&'static str],
}

impl Schema {
    fn create_version_table(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (version INTEGER NOT NULL)",
            self.version_table
        )
    }

    fn select_version(&self) -> String {
        format!(
            "SELECT coalesce(max(version), 0) FROM {}",
            self.version_table
        )
    }

    fn delete_version(&self) -> String {
        format!("DELETE FROM {}", self.version_table)
    }

    /// The steps still to run after `version`, numbered from 1.
    fn pending(
        &self,
        version: usize,
    ) -> Result<impl Iterator<Item = (usize, &str)>, MigrationError> {
        if version > self.migrations.len() {
            return Err(format!(
                "the database has {} version {version}, newer than this SDK's {}",
                self.name,
                self.migrations.len()
            )
            .into());
        }
        Ok(self
            .migrations
            .iter()
            .enumerate()
            .skip(version)
            .map(|(step, sql)| (step + 1, *sql)))
    }
}

/// Brings `schema` up to date on a SQLite connection, in one transaction.
#[cfg(feature = "sqlite")]
pub(crate) fn migrate_sqlite(
    connection: &mut rusqlite::Connection,
    schema: &Schema,
) -> Result<(), MigrationError> {
    let tx = connection.transaction()?;
    tx.execute_batch(&schema.create_version_table())?;
    let version: usize = tx.query_row(&schema.select_version(), [], |r| r.get(0))?;
    for (step, sql) in schema.pending(version)? {
        tx.execute_batch(sql)?;
        tx.execute(&schema.delete_version(), [])?;
        tx.execute(
            &format!("INSERT INTO {} (version) VALUES (?1)", schema.version_table),
            [step],
        )?;
    }
    Ok(tx.commit()?)
}

/// Brings `schema` up to date on PostgreSQL, in one transaction under the
/// advisory lock `lock`, so hosts starting at once migrate one after another.
#[cfg(feature = "postgres")]
pub(crate) async fn migrate_postgres(
    client: &mut tokio_postgres::Client,
    lock: i64,
    schema: &Schema,
) -> Result<(), MigrationError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
        .await?;
    tx.batch_execute(&schema.create_version_table()).await?;
    let row = tx.query_one(&schema.select_version(), &[]).await?;
    let version = usize::try_from(row.get::<_, i32>(0)).unwrap_or(0);
    for (step, sql) in schema.pending(version)? {
        tx.batch_execute(sql).await?;
        tx.execute(&schema.delete_version(), &[]).await?;
        tx.execute(
            &format!("INSERT INTO {} (version) VALUES ($1)", schema.version_table),
            &[&i32::try_from(step)?],
        )
        .await?;
    }
    Ok(tx.commit().await?)
}
