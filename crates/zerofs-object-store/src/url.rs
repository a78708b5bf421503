//! `zerofs://` URLs: where the server is, which directory is the store's root, who attaches.

use object_store::Result;
use percent_encoding::percent_decode_str;
use url::Url;
use zerofs_client::ConnectOptions;

use crate::error::generic;

/// The default 9P port of ZeroFS.
const DEFAULT_PORT: u16 = 5564;

/// What a store URL says: the client target, the store root, and connect options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreUrl {
    /// A `zerofs_client` target string (`host:port` or `unix:/path`).
    pub target: String,
    /// The directory (from the attach root) the store is rooted at.
    pub prefix: String,
    /// Identity and export.
    pub options: ConnectOptions,
}

/// Parses the three accepted forms:
///
/// - `zerofs://host[:port][/prefix]` (TCP, port 5564 by default, `[v6]` hosts too);
/// - `zerofs+unix://<percent-encoded socket path>[/prefix]`, e.g.
///   `zerofs+unix://%2Frun%2Fzerofs.sock/lake`;
/// - `unix:/path/to.sock` (the client's own target syntax; root prefix unless `?prefix=`).
///
/// Query parameters on any form: `aname`, `uid`, `gid`, and `prefix` (for `unix:`).
pub(crate) fn parse(input: &str) -> Result<StoreUrl> {
    if let Some(rest) = input.strip_prefix("unix:") {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = path.strip_prefix("//").unwrap_or(path);
        if !path.starts_with('/') {
            return Err(generic(format!(
                "{input}: a unix socket path must be absolute"
            )));
        }
        let mut out = StoreUrl {
            target: format!("unix:{}", decode(path)?),
            prefix: String::new(),
            options: ConnectOptions::default(),
        };
        let pairs = url::form_urlencoded::parse(query.as_bytes());
        apply_query(&mut out, input, pairs, true)?;
        return Ok(out);
    }
    let url = Url::parse(input).map_err(|e| generic(format!("{input}: {e}")))?;
    let target = match url.scheme() {
        "zerofs" => {
            let host = url
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| generic(format!("{input}: no host")))?;
            let port = url.port().unwrap_or(DEFAULT_PORT);
            format!("{host}:{port}")
        }
        "zerofs+unix" => {
            let host = url.host_str().unwrap_or_default();
            let socket = decode(host)?;
            if !socket.starts_with('/') {
                return Err(generic(format!(
                    "{input}: the host must be the percent-encoded absolute socket path"
                )));
            }
            format!("unix:{socket}")
        }
        other => {
            return Err(generic(format!(
                "{input}: unsupported scheme {other:?} (zerofs, zerofs+unix, unix)"
            )));
        }
    };
    let mut out = StoreUrl {
        target,
        prefix: decode(url.path())?,
        options: ConnectOptions::default(),
    };
    apply_query(&mut out, input, url.query_pairs(), false)?;
    Ok(out)
}

/// Sets the options the query names.
fn apply_query<'a>(
    out: &mut StoreUrl,
    input: &str,
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    prefix_allowed: bool,
) -> Result<()> {
    let number = |k: &str, v: &str| {
        v.parse::<u32>()
            .map_err(|_| generic(format!("{input}: {k}={v:?} is not a number")))
    };
    for (k, v) in pairs {
        match &*k {
            "aname" => out.options.aname = v.into_owned(),
            "uid" => out.options.uid = Some(number(&k, &v)?),
            "gid" => out.options.gid = Some(number(&k, &v)?),
            "prefix" if prefix_allowed => out.prefix = v.into_owned(),
            other => return Err(generic(format!("{input}: unknown parameter {other:?}"))),
        }
    }
    Ok(())
}

/// Percent-decodes a URL component into UTF-8.
fn decode(s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|e| generic(format!("{s}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_urls_default_the_port_and_keep_the_prefix() {
        let u = parse("zerofs://storage.local/lake/raw").unwrap();
        assert_eq!(u.target, "storage.local:5564");
        assert_eq!(u.prefix, "/lake/raw");
        let u = parse("zerofs://127.0.0.1:7000").unwrap();
        assert_eq!(
            (u.target.as_str(), u.prefix.as_str()),
            ("127.0.0.1:7000", "")
        );
        let u = parse("zerofs://[::1]:7000/p?uid=1000&gid=100&aname=exp").unwrap();
        assert_eq!(u.target, "[::1]:7000");
        assert_eq!(
            (u.options.uid, u.options.gid, u.options.aname.as_str()),
            (Some(1000), Some(100), "exp")
        );
    }

    #[test]
    fn unix_sockets_in_both_spellings() {
        let u = parse("zerofs+unix://%2Frun%2Fzerofs.sock/lake").unwrap();
        assert_eq!(
            (u.target.as_str(), u.prefix.as_str()),
            ("unix:/run/zerofs.sock", "/lake")
        );
        let u = parse("unix:/run/zerofs.sock").unwrap();
        assert_eq!(
            (u.target.as_str(), u.prefix.as_str()),
            ("unix:/run/zerofs.sock", "")
        );
        let u = parse("unix:/run/z.sock?prefix=/lake&aname=x").unwrap();
        assert_eq!(
            (
                u.target.as_str(),
                u.prefix.as_str(),
                u.options.aname.as_str()
            ),
            ("unix:/run/z.sock", "/lake", "x")
        );
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        for bad in [
            "s3://bucket/x",
            "zerofs:///nohost",
            "zerofs://h/p?uid=abc",
            "zerofs://h/p?colour=blue",
            "zerofs://h/p?prefix=/x",
            "zerofs+unix://relative.sock/p",
            "unix:relative.sock",
            "not a url",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
