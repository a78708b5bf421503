//! Connection targets: the strings users pass to `connect`, parsed as ZeroFS's own client does.
//!
//! | form | meaning |
//! |---|---|
//! | `unix:/p`, `unix:///p`, `unix:rel` | unix socket `/p`, `/p`, `rel` (one leading `//` stripped) |
//! | `/p`, `./p`, `tcp:///p` | unix socket (after an optional `tcp://`, a leading `/` or `.`) |
//! | `tcp://host:port`, `host:port`, `1.2.3.4:p`, `[::1]:p` | TCP |
//! | `host`, `[::1]`, `::1` | TCP on the default port 5564 |
//!
//! A bare unbracketed IPv6 literal gets the default port (ZeroFS's client would mis-split it).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use zerofs_9p_proto::consts::DEFAULT_PORT;

/// Where a session connects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A unix domain socket path.
    Unix(PathBuf),
    /// A TCP endpoint; `host` is a name or an IP literal (without brackets), resolved at each
    /// dial so a restarted server on a new address is found.
    Tcp {
        /// Host name or IP literal.
        host: String,
        /// Port.
        port: u16,
    },
}

/// Why a target string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target {target:?}: {reason}")]
pub struct TargetError {
    /// The string given.
    pub target: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Target {
    /// Parses a target string (see the module documentation for the grammar).
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        let err = |reason| TargetError {
            target: s.to_owned(),
            reason,
        };
        if let Some(rest) = s.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(err("empty unix socket path"));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        let rest = s.strip_prefix("tcp://").unwrap_or(s);
        if rest.starts_with('/') || rest.starts_with('.') {
            return Ok(Target::Unix(PathBuf::from(rest)));
        }
        if rest.is_empty() {
            return Err(err("empty host"));
        }
        if let Ok(addr) = rest.parse::<SocketAddr>() {
            return Ok(Target::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            });
        }
        if let Ok(ip) = rest.parse::<IpAddr>() {
            return Ok(Target::Tcp {
                host: ip.to_string(),
                port: DEFAULT_PORT,
            });
        }
        if let Some(inner) = rest.strip_prefix('[') {
            let (v6, tail) = inner.split_once(']').ok_or_else(|| err("unclosed '['"))?;
            let ip = v6
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| err("bad IPv6 address"))?;
            let port = match tail {
                "" => DEFAULT_PORT,
                t => t
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| err("bad port after ']'"))?,
            };
            return Ok(Target::Tcp {
                host: ip.to_string(),
                port,
            });
        }
        match rest.rsplit_once(':') {
            Some((host, port)) => {
                if host.is_empty() {
                    return Err(err("empty host"));
                }
                let port = port.parse().map_err(|_| err("bad port"))?;
                Ok(Target::Tcp {
                    host: host.to_owned(),
                    port,
                })
            }
            None => Ok(Target::Tcp {
                host: rest.to_owned(),
                port: DEFAULT_PORT,
            }),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Target, TargetError> {
        Target::parse(s)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(p: &str) -> Target {
        Target::Unix(PathBuf::from(p))
    }
    fn tcp(h: &str, port: u16) -> Target {
        Target::Tcp {
            host: h.to_owned(),
            port,
        }
    }

    #[test]
    fn unix_prefix_forms() {
        assert_eq!(
            Target::parse("unix:/run/z.sock").unwrap(),
            unix("/run/z.sock")
        );
        assert_eq!(
            Target::parse("unix:///run/z.sock").unwrap(),
            unix("/run/z.sock")
        );
        assert_eq!(Target::parse("unix:rel.sock").unwrap(), unix("rel.sock"));
        assert_eq!(Target::parse("unix://rel").unwrap(), unix("rel"));
        assert!(Target::parse("unix:").is_err());
    }

    #[test]
    fn bare_paths_are_unix_sockets() {
        assert_eq!(Target::parse("/tmp/s").unwrap(), unix("/tmp/s"));
        assert_eq!(Target::parse("./s").unwrap(), unix("./s"));
        assert_eq!(Target::parse("../s").unwrap(), unix("../s"));
        assert_eq!(Target::parse("tcp:///x").unwrap(), unix("/x"));
    }

    #[test]
    fn tcp_forms() {
        assert_eq!(
            Target::parse("tcp://example.com:7000").unwrap(),
            tcp("example.com", 7000)
        );
        assert_eq!(
            Target::parse("example.com:7000").unwrap(),
            tcp("example.com", 7000)
        );
        assert_eq!(Target::parse("127.0.0.1:5").unwrap(), tcp("127.0.0.1", 5));
        assert_eq!(
            Target::parse("tcp://127.0.0.1:5").unwrap(),
            tcp("127.0.0.1", 5)
        );
        assert_eq!(Target::parse("[::1]:5565").unwrap(), tcp("::1", 5565));
        assert_eq!(Target::parse("tcp://[::1]:5565").unwrap(), tcp("::1", 5565));
    }

    #[test]
    fn default_port_forms() {
        assert_eq!(
            Target::parse("example.com").unwrap(),
            tcp("example.com", 5564)
        );
        assert_eq!(
            Target::parse("tcp://localhost").unwrap(),
            tcp("localhost", 5564)
        );
        assert_eq!(Target::parse("10.0.0.1").unwrap(), tcp("10.0.0.1", 5564));
        assert_eq!(Target::parse("[::1]").unwrap(), tcp("::1", 5564));
        assert_eq!(Target::parse("[fe80::2]").unwrap(), tcp("fe80::2", 5564));
        assert_eq!(Target::parse("::1").unwrap(), tcp("::1", 5564));
    }

    #[test]
    fn bad_targets_are_typed_errors() {
        for bad in [
            "",
            "tcp://",
            "host:notaport",
            "host:70000",
            ":80",
            "[::1",
            "[::1]x",
            "[zz]:1",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.target, bad);
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["unix:/a/b", "h:1", "[::1]:9", "1.2.3.4:5564"] {
            let t = Target::parse(s).unwrap();
            assert_eq!(Target::parse(&t.to_string()).unwrap(), t, "{s}");
        }
    }
}
