//! The in-process MCP servers of a session, by name: read on every `mcp_message`,
//! changed at run time by `mcp_set_servers`.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::mcp::SdkMcpServer;

/// The servers the CLI's `mcp_message` requests are answered by.
#[derive(Default)]
pub(crate) struct ServerTable {
    servers: RwLock<HashMap<String, SdkMcpServer>>,
}

impl ServerTable {
    pub(crate) fn new(servers: HashMap<String, SdkMcpServer>) -> Self {
        ServerTable {
            servers: RwLock::new(servers),
        }
    }

    /// The server named `name` (a cheap handle: the lock is not held while it works).
    pub(crate) fn get(&self, name: &str) -> Option<SdkMcpServer> {
        self.read().get(name).cloned()
    }

    /// Every server, as cheap handles.
    pub(crate) fn values(&self) -> Vec<SdkMcpServer> {
        self.read().values().cloned().collect()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// Adds (or replaces) these servers and returns the table as it was, to restore or trim.
    pub(crate) fn add_all(
        &self,
        servers: &HashMap<String, SdkMcpServer>,
    ) -> HashMap<String, SdkMcpServer> {
        let mut table = self.write();
        let before = table.clone();
        table.extend(servers.iter().map(|(n, s)| (n.clone(), s.clone())));
        before
    }

    /// Keeps only the servers named in `names`.
    pub(crate) fn retain_named(&self, names: &HashMap<String, SdkMcpServer>) {
        self.write().retain(|name, _| names.contains_key(name));
    }

    /// Puts back a table returned by [`add_all`](Self::add_all).
    pub(crate) fn restore(&self, servers: HashMap<String, SdkMcpServer>) {
        *self.write() = servers;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, SdkMcpServer>> {
        // Plain data: a panic elsewhere while it was held leaves it usable.
        self.servers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, SdkMcpServer>> {
        self.servers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
