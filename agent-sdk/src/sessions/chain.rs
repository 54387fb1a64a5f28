//! The conversation in a transcript: the chain of `parentUuid` links from the
//! newest main-thread message back to the first, with the tool calls of a
//! parallel turn put back where the walk lost them.
//!
//! The CLI appends every entry; an edited or retried turn leaves its old
//! branch in the file, subagents of older CLIs write sidechains into it, and
//! metadata entries have no place in the conversation at all.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Entry types that carry `uuid`/`parentUuid` links.
const LINKED_TYPES: [&str; 5] = ["user", "assistant", "progress", "system", "attachment"];

pub(crate) fn str_field<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Value::as_str)
}

fn entry_type(entry: &Value) -> Option<&str> {
    str_field(entry, "type")
}

fn uuid(entry: &Value) -> &str {
    str_field(entry, "uuid").unwrap_or_default()
}

/// A non-empty `parentUuid`.
fn parent(entry: &Value) -> Option<&str> {
    str_field(entry, "parentUuid").filter(|p| !p.is_empty())
}

/// JavaScript/Python truthiness of a field: present and not `false`, `null`, `0` or empty.
pub(crate) fn truthy(entry: &Value, key: &str) -> bool {
    truthy_value(entry.get(key))
}

/// JavaScript/Python truthiness of a JSON value (absent is false).
pub(crate) fn truthy_value(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

fn is_message(entry: &Value) -> bool {
    matches!(entry_type(entry), Some("user" | "assistant"))
}

/// The linked entries of a JSONL transcript, in file order; corrupt lines and
/// metadata entries are skipped.
pub(crate) fn parse_linked_entries(content: &str) -> Vec<Value> {
    content
        .split('\n')
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(is_linked)
        .collect()
}

pub(crate) fn is_linked(entry: &Value) -> bool {
    entry_type(entry).is_some_and(|t| LINKED_TYPES.contains(&t))
        && entry.get("uuid").is_some_and(Value::is_string)
}

/// Entries by uuid: the last entry with a uuid wins, while the order is that
/// of each uuid's first appearance.
struct Index<'a> {
    by_uuid: HashMap<&'a str, &'a Value>,
    order: Vec<&'a str>,
}

impl<'a> Index<'a> {
    fn new(entries: &'a [Value]) -> Self {
        let mut by_uuid = HashMap::with_capacity(entries.len());
        let mut order = Vec::with_capacity(entries.len());
        for entry in entries {
            if by_uuid.insert(uuid(entry), entry).is_none() {
                order.push(uuid(entry));
            }
        }
        Index { by_uuid, order }
    }

    fn parent_of(&self, entry: &Value) -> Option<&'a Value> {
        parent(entry).and_then(|p| self.by_uuid.get(p).copied())
    }
}

/// The main conversation of a session, root first.
///
/// The leaf is the newest user/assistant entry on the main thread (not a
/// sidechain, team or meta entry) that no entry continues from; the chain is
/// its `parentUuid` ancestry. `logicalParentUuid` (across a compaction) is
/// not followed: the compact summary stands for what came before it.
pub(crate) fn conversation_chain(entries: &[Value]) -> Vec<&Value> {
    if entries.is_empty() {
        return Vec::new();
    }
    let index = Index::new(entries);
    let position: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (uuid(e), i))
        .collect();
    let parents: HashSet<&str> = entries.iter().filter_map(parent).collect();

    // From each terminal entry, back to the nearest user/assistant message.
    let mut leaves = Vec::new();
    for terminal in entries.iter().filter(|e| !parents.contains(uuid(e))) {
        let mut seen = HashSet::new();
        let mut current = Some(terminal);
        while let Some(entry) = current {
            if !seen.insert(uuid(entry)) {
                break;
            }
            if is_message(entry) {
                leaves.push(entry);
                break;
            }
            current = index.parent_of(entry);
        }
    }
    let newest = |candidates: &[&'_ Value]| -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, leaf) in candidates.iter().enumerate() {
            let at = position.get(uuid(leaf)).copied().unwrap_or(0);
            if best.is_none_or(|(_, best_at)| at > best_at) {
                best = Some((i, at));
            }
        }
        best.map(|(i, _)| i)
    };
    let main: Vec<&Value> = leaves
        .iter()
        .copied()
        .filter(|l| !truthy(l, "isSidechain") && !truthy(l, "teamName") && !truthy(l, "isMeta"))
        .collect();
    let leaf = match (newest(&main), newest(&leaves)) {
        (Some(i), _) => main[i],
        (None, Some(i)) => leaves[i],
        (None, None) => return Vec::new(),
    };

    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut current = Some(leaf);
    while let Some(entry) = current {
        if !seen.insert(uuid(entry)) {
            break;
        }
        chain.push(entry);
        current = index.parent_of(entry);
    }
    chain.reverse();
    recover_parallel_tool_calls(&index, chain, seen)
}

/// A subagent transcript is linear: the last message and its ancestry.
pub(crate) fn subagent_chain(entries: &[Value]) -> Vec<&Value> {
    let index = Index::new(entries);
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    let mut current = entries.iter().rev().find(|e| is_message(e));
    while let Some(entry) = current {
        if !seen.insert(uuid(entry)) {
            break;
        }
        chain.push(entry);
        current = index.parent_of(entry);
    }
    chain.reverse();
    chain
}

/// The API `message.id` of an assistant entry.
fn response_id(entry: &Value) -> Option<&str> {
    if entry_type(entry) != Some("assistant") {
        return None;
    }
    entry
        .get("message")
        .and_then(|m| m.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// The `id_field` of each `block_type` block of an entry's content.
fn block_ids<'a>(entry: &'a Value, block_type: &str, id_field: &str) -> Vec<&'a str> {
    let Some(blocks) = entry
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some(block_type))
        .filter_map(|b| b.get(id_field).and_then(Value::as_str))
        .collect()
}

fn is_tool_result(entry: &Value) -> bool {
    entry_type(entry) == Some("user")
        && parent(entry).is_some()
        && entry
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_array)
            .is_some_and(|blocks| {
                blocks
                    .iter()
                    .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            })
}

/// Written by the same agent: both on the main thread, or the same subagent.
fn same_writer(a: &Value, b: &Value) -> bool {
    truthy(a, "isSidechain") == truthy(b, "isSidechain") && a.get("agentId") == b.get("agentId")
}

fn timestamp(entry: &Value) -> &str {
    str_field(entry, "timestamp").unwrap_or_default()
}

/// Puts back the tool calls and results a parallel turn left off the chain.
///
/// The CLI writes one assistant entry per content block, chained one after
/// another, and each result's parent is its own call: N parallel calls fan
/// out, and the walk keeps only the branch the next turn continued from.
/// For each response on the chain, its other entries and their results are
/// inserted after the response's last entry on the chain (timestamp order).
fn recover_parallel_tool_calls<'a>(
    index: &Index<'a>,
    chain: Vec<&'a Value>,
    mut seen: HashSet<&'a str>,
) -> Vec<&'a Value> {
    let chain_assistants: Vec<&Value> = chain
        .iter()
        .copied()
        .filter(|e| entry_type(e) == Some("assistant"))
        .collect();
    let mut anchor: HashMap<&str, &Value> = HashMap::new();
    for entry in &chain_assistants {
        if let Some(id) = response_id(entry) {
            anchor.insert(id, entry);
        }
    }
    if anchor.is_empty() {
        return chain;
    }

    // Every assistant entry by response; the entry that made each call (None
    // when two responses claim one call id).
    let mut siblings: HashMap<&str, Vec<&Value>> = HashMap::new();
    let mut call_owner: HashMap<&str, Option<&Value>> = HashMap::new();
    let mut results = Vec::new();
    for entry in index.order.iter().map(|u| index.by_uuid[u]) {
        if let Some(id) = response_id(entry) {
            siblings.entry(id).or_default().push(entry);
            for call in block_ids(entry, "tool_use", "id") {
                match call_owner.get(call) {
                    None => {
                        call_owner.insert(call, Some(entry));
                    }
                    Some(owner) => {
                        let same = owner.is_some_and(|o| response_id(o) == Some(id));
                        call_owner.insert(call, same.then_some(entry));
                    }
                }
            }
        } else if is_tool_result(entry) {
            results.push(entry);
        }
    }

    // Each result under the entries it may answer: its parent, its
    // `sourceToolAssistantUUID` and the owner of each call (same writer only).
    let mut results_by_assistant: HashMap<&str, Vec<&Value>> = HashMap::new();
    for &result in &results {
        if let Some(p) = parent(result) {
            results_by_assistant.entry(p).or_default().push(result);
        }
        if let Some(source) = str_field(result, "sourceToolAssistantUUID")
            && let Some(source_entry) = index.by_uuid.get(source)
            && same_writer(result, source_entry)
        {
            results_by_assistant.entry(source).or_default().push(result);
        }
        for call in block_ids(result, "tool_result", "tool_use_id") {
            if let Some(Some(owner)) = call_owner.get(call)
                && same_writer(result, owner)
            {
                results_by_assistant
                    .entry(uuid(owner))
                    .or_default()
                    .push(result);
            }
        }
    }

    let file_position: HashMap<&str, usize> = index
        .order
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, i))
        .collect();
    let answered_on_chain: HashSet<&str> = chain
        .iter()
        .flat_map(|e| block_ids(e, "tool_result", "tool_use_id"))
        .collect();

    let mut processed = HashSet::new();
    let mut inserts: HashMap<&str, Vec<&Value>> = HashMap::new();
    for assistant in &chain_assistants {
        let Some(id) = response_id(assistant) else {
            continue;
        };
        if !processed.insert(id) {
            continue;
        }
        let group: Vec<&Value> = siblings.get(id).cloned().unwrap_or_else(|| vec![assistant]);
        let members: HashSet<&str> = group.iter().map(|m| uuid(m)).collect();
        let mut orphan_siblings: Vec<&Value> = group
            .iter()
            .copied()
            .filter(|m| !seen.contains(uuid(m)))
            .collect();
        let mut orphan_results: Vec<&Value> = Vec::new();
        let mut strays: Vec<&Value> = Vec::new();
        let mut collected = HashSet::new();
        for member in &group {
            for &result in results_by_assistant.get(uuid(member)).into_iter().flatten() {
                if seen.contains(uuid(result)) || !collected.insert(uuid(result)) {
                    continue;
                }
                if parent(result).is_some_and(|p| members.contains(p)) {
                    orphan_results.push(result);
                } else {
                    strays.push(result);
                }
            }
        }
        if !strays.is_empty() {
            let mut answered = answered_on_chain.clone();
            for result in &orphan_results {
                answered.extend(block_ids(result, "tool_result", "tool_use_id"));
            }
            strays.sort_by_key(|e| file_position.get(uuid(e)).copied().unwrap_or(usize::MAX));
            for result in strays {
                let calls = block_ids(result, "tool_result", "tool_use_id");
                let answers_open_call = calls.iter().any(|call| {
                    !answered.contains(call)
                        && matches!(call_owner.get(call), Some(Some(o)) if members.contains(uuid(o)))
                });
                if answers_open_call {
                    answered.extend(calls);
                    orphan_results.push(result);
                }
            }
        }
        if orphan_siblings.is_empty() && orphan_results.is_empty() {
            continue;
        }
        // Stable: on a tie, siblings keep file order and results call order.
        orphan_siblings.sort_by(|a, b| timestamp(a).cmp(timestamp(b)));
        orphan_results.sort_by(|a, b| timestamp(a).cmp(timestamp(b)));
        let recovered: Vec<&Value> = orphan_siblings.into_iter().chain(orphan_results).collect();
        seen.extend(recovered.iter().map(|e| uuid(e)));
        inserts.insert(uuid(anchor[id]), recovered);
    }
    if inserts.is_empty() {
        return chain;
    }
    let mut out = Vec::with_capacity(chain.len());
    for entry in chain {
        out.push(entry);
        if let Some(recovered) = inserts.remove(uuid(entry)) {
            out.extend(recovered);
        }
    }
    out
}

/// A chain entry shown as a message: user or assistant, not meta, not a
/// sidechain or team entry. Compact summaries are kept: after a compaction
/// they are the only record of what came before.
pub(crate) fn is_visible(entry: &Value) -> bool {
    is_message(entry)
        && !truthy(entry, "isMeta")
        && !truthy(entry, "isSidechain")
        && !truthy(entry, "teamName")
}
