//! High availability: a set of servers of which one is the serving leader.
//!
//! [`TargetSet`] is a [`Connector`] over several targets. It dials from the last server that
//! worked; a server that cannot be dialled, that answers `ENOTCONN` ("not the serving
//! leader", found during negotiation), or that does not answer within the per-target probe
//! timeout (`Options::probe_timeout`) is passed over for the next one. Host names are kept as
//! names and resolved again at every dial, so a node that moved is found at its new address. After any disconnect
//! the supervisor dials through it again, so the set is re-probed until the leader answers.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;

use crate::target::{Target, TargetError};
use crate::transport::{Connector, Transport};

/// Several targets serving one filesystem (an HA set). Parse `"node-a:5564,node-b:5564"`
/// with [`TargetSet::parse`], or build one from a list with [`TargetSet::new`].
#[derive(Debug)]
pub struct TargetSet {
    targets: Vec<Target>,
    cursor: AtomicUsize,
}

impl TargetSet {
    /// A set of `targets` (tried in this order first). An empty list is refused.
    pub fn new(targets: Vec<Target>) -> Result<TargetSet, TargetError> {
        if targets.is_empty() {
            return Err(TargetError {
                target: String::new(),
                reason: "empty target list",
            });
        }
        Ok(TargetSet {
            targets,
            cursor: AtomicUsize::new(0),
        })
    }

    /// Parses a comma-separated list of targets (spaces around commas are ignored; empty
    /// items are refused).
    pub fn parse(s: &str) -> Result<TargetSet, TargetError> {
        let targets = s
            .split(',')
            .map(|item| {
                let item = item.trim();
                if item.is_empty() {
                    return Err(TargetError {
                        target: s.to_owned(),
                        reason: "empty item in target list",
                    });
                }
                Target::parse(item)
            })
            .collect::<Result<Vec<_>, _>>()?;
        TargetSet::new(targets)
    }

    /// The targets, in order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The index of the target the next dial starts from.
    pub fn current(&self) -> usize {
        self.cursor.load(Ordering::Acquire) % self.targets.len()
    }
}

impl fmt::Display for TargetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.targets.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl Connector for TargetSet {
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>> {
        Box::pin(async move {
            let n = self.targets.len();
            let start = self.current();
            let mut last = io::Error::new(io::ErrorKind::NotConnected, "no target answered");
            for i in 0..n {
                let idx = (start + i) % n;
                // The cursor names the target being dialled, so a caller that gives up on it
                // (probe timeout) moves on with `not_leader` from this one.
                self.cursor.store(idx, Ordering::Release);
                match self.targets[idx].connect().await {
                    Ok(t) => return Ok(t),
                    Err(e) => {
                        tracing::debug!(target = %self.targets[idx], error = %e, "dial failed; trying the next target");
                        last = e;
                    }
                }
            }
            self.cursor.store(start, Ordering::Release);
            Err(last)
        })
    }

    fn describe(&self) -> String {
        self.to_string()
    }

    fn candidates(&self) -> usize {
        self.targets.len()
    }

    fn not_leader(&self) {
        let n = self.targets.len();
        let next = (self.current() + 1) % n;
        tracing::debug!(target = %self.targets[self.current()], "not the serving leader; trying the next target");
        self.cursor.store(next, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_parse_in_order() {
        let set = TargetSet::parse("node-a:5564, node-b:7000,[::1]:9").unwrap();
        assert_eq!(
            set.targets(),
            &[
                Target::parse("node-a:5564").unwrap(),
                Target::parse("node-b:7000").unwrap(),
                Target::parse("[::1]:9").unwrap(),
            ]
        );
        assert_eq!(set.to_string(), "node-a:5564,node-b:7000,[::1]:9");
        assert_eq!(set.candidates(), 3);
        for bad in ["a:1,,b:2", ",", "a:1,host:notaport"] {
            assert!(TargetSet::parse(bad).is_err(), "{bad}");
        }
        assert!(TargetSet::new(Vec::new()).is_err());
    }

    #[test]
    fn not_leader_moves_to_the_next_target_and_wraps() {
        let set = TargetSet::parse("a:1,b:2").unwrap();
        assert_eq!(set.current(), 0);
        set.not_leader();
        assert_eq!(set.current(), 1);
        set.not_leader();
        assert_eq!(set.current(), 0);
    }

    #[tokio::test]
    async fn dials_past_targets_that_refuse_connections() {
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_port = dead.local_addr().unwrap().port();
        drop(dead);
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_port = live.local_addr().unwrap().port();
        let set =
            TargetSet::parse(&format!("127.0.0.1:{dead_port},127.0.0.1:{live_port}")).unwrap();
        let t = set.connect().await.unwrap();
        let _peer = live.accept().await.unwrap();
        assert_eq!(
            set.current(),
            1,
            "the cursor stays on the target that answered"
        );
        drop(t);
    }
}
