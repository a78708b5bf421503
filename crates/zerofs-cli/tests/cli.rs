//! Drives the built `zerofs-cli` binary against the in-memory server (`zerofs-cli serve`, or
//! an in-process memserver where a test needs fault injection).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_zerofs-cli");

/// A `zerofs-cli serve` child on an ephemeral port, killed on drop.
struct Serve {
    child: Child,
    target: String,
}

impl Serve {
    fn start(generation: &str) -> Serve {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "-q",
                "--listen",
                "127.0.0.1:0",
                "--generation",
                generation,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Serve {
            child,
            target: line.trim().to_owned(),
        }
    }

    fn cli(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("ZEROFS_TARGET", &self.target).env_remove("RUST_LOG");
        c
    }

    /// Runs `args`, returning the output.
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.cli().args(args).output().unwrap()
    }

    /// Runs `args` and asserts success; returns stdout.
    fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<u8> {
        succeeded(args, self.run(args))
    }

    fn text<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        String::from_utf8(self.ok(args)).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stdout of a run of `args` that must have succeeded.
fn succeeded<S: AsRef<OsStr>>(args: &[S], o: Output) -> Vec<u8> {
    assert!(
        o.status.success(),
        "{:?} failed: {}\n{}",
        args.iter()
            .map(|a| a.as_ref().to_owned())
            .collect::<Vec<_>>(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn sigint(pid: u32) {
    let st = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Waits (bounded) for a child to exit.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(
            start.elapsed() < limit,
            "child did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn same_tree(a: &Path, b: &Path) {
    let st = Command::new("diff")
        .arg("-r")
        .arg("--no-dereference")
        .arg(a)
        .arg(b)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "trees differ: {} {}",
        a.display(),
        b.display()
    );
}

#[test]
fn every_subcommand_works_against_serve() {
    for generation in ["z", "plain"] {
        let s = Serve::start(generation);
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(src.join("empty")).unwrap();
        std::fs::write(src.join("a.txt"), b"alpha\n").unwrap();
        std::fs::write(src.join("sub/b.log"), vec![7u8; 5000]).unwrap();
        std::fs::write(src.join("sub/deeper/c.txt"), b"c").unwrap();
        std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();

        // put / ls / tree / stat / cat / du / find / df
        s.ok(&[
            OsStr::new("put"),
            OsStr::new("-r"),
            src.as_os_str(),
            OsStr::new(":/up"),
        ]);
        assert_eq!(s.text(&["ls", "/up"]), "a.txt\nempty\nlink\nsub\n");
        let long = s.text(&["ls", "-l", "/up"]);
        assert!(long.contains("link -> a.txt"), "{long}");
        assert!(
            long.lines()
                .any(|l| l.starts_with("drwx") && l.ends_with(" sub")),
            "{long}"
        );
        let rec = s.text(&["ls", "-R", "/up"]);
        assert!(rec.contains("/up/sub/deeper:\nc.txt"), "{rec}");
        assert!(s.text(&["ls", "-l", "-H", "/up/sub"]).contains("4.9K"));
        let tree = s.text(&["tree", "/up"]);
        assert!(
            tree.contains("└── sub") && tree.contains("3 directories, 4 files"),
            "{tree}"
        );
        assert!(s.text(&["stat", "/up/a.txt"]).contains("Size: 6"));
        let js: serde_json::Value =
            serde_json::from_str(s.text(&["--json", "stat", "/up/link"]).trim()).unwrap();
        assert_eq!(
            (js["type"].as_str(), js["target"].as_str()),
            (Some("symlink"), Some("a.txt"))
        );
        assert_eq!(
            s.ok(&["cat", "/up/a.txt", "/up/sub/deeper/c.txt"]),
            b"alpha\nc"
        );
        let du = s.text(&["du", "-s", "/up"]);
        assert_eq!(du, format!("{}\t/up\n", 6 + 5000 + 1 + 5));
        let du_all = s.text(&["du", "/up"]);
        assert!(du_all.contains("5001\t/up/sub\n"), "{du_all}");
        assert_eq!(
            s.text(&["find", "/up", "--name", "*.txt"]),
            "/up/a.txt\n/up/sub/deeper/c.txt\n"
        );
        assert_eq!(
            s.text(&["find", "/up", "--type", "d"]),
            "/up\n/up/empty\n/up/sub\n/up/sub/deeper\n"
        );
        assert_eq!(s.text(&["find", "/up", "--size", "+1K"]), "/up/sub/b.log\n");
        assert_eq!(
            s.text(&["find", "/up", "--type", "l", "--json"])
                .lines()
                .count(),
            1
        );
        let df: serde_json::Value = serde_json::from_str(s.text(&["df", "--json"]).trim()).unwrap();
        assert!(df["bytes_total"].as_u64().unwrap() > 0);
        s.ok(&["df", "-H"]);

        // get back, byte for byte (links, empty dirs and modes too)
        let back = tmp.path().join("back");
        s.ok(&[
            OsStr::new("get"),
            OsStr::new("-r"),
            OsStr::new("/up"),
            back.as_os_str(),
        ]);
        same_tree(&src, &back);
        // get into an existing directory, a single file
        s.ok(&[
            OsStr::new("get"),
            OsStr::new("/up/a.txt"),
            tmp.path().as_os_str(),
        ]);
        assert_eq!(std::fs::read(tmp.path().join("a.txt")).unwrap(), b"alpha\n");

        // mkdir / touch / chmod / ln / mv / cp / rm
        s.ok(&["mkdir", "-p", "/m/n/o"]);
        s.ok(&["mkdir", "-m", "700", "/m/p"]);
        assert!(s.text(&["ls", "-l", "/m"]).contains("drwx------"));
        s.ok(&["touch", "/m/t"]);
        assert!(s.text(&["stat", "/m/t"]).contains("Size: 0"));
        s.ok(&["chmod", "600", "/m/t"]);
        assert!(
            s.text(&["--json", "stat", "/m/t"])
                .contains("\"mode\":\"0600\"")
        );
        s.ok(&["chmod", "-R", "750", "/m/n"]);
        assert!(
            s.text(&["--json", "stat", "/m/n/o"])
                .contains("\"mode\":\"0750\"")
        );
        s.ok(&["ln", "-s", "../up/a.txt", "/m/sym"]);
        assert!(s.text(&["ls", "-l", "/m"]).contains("sym -> ../up/a.txt"));
        s.ok(&["ln", "/up/a.txt", "/m/hard"]);
        assert!(
            s.text(&["--json", "stat", "/m/hard"])
                .contains("\"nlink\":2")
        );
        s.ok(&["mv", "/m/t", "/m/t2"]);
        s.ok(&["mv", "/m/t2", "/m/hard", "/m/n"]);
        assert_eq!(s.text(&["ls", "/m/n"]), "hard\no\nt2\n");
        s.ok(&["cp", "-r", ":/up/sub", ":/copy"]);
        assert_eq!(s.ok(&["cat", "/copy/b.log"]), vec![7u8; 5000]);
        s.ok(&[
            OsStr::new("cp"),
            src.join("a.txt").as_os_str(),
            OsStr::new(":/m/"),
        ]);
        assert_eq!(s.ok(&["cat", "/m/a.txt"]), b"alpha\n");
        // dry runs change nothing
        s.ok(&["rm", "-n", "-r", "/copy"]);
        s.ok(&["mv", "-n", "/copy", "/copy2"]);
        assert!(s.text(&["ls", "/"]).contains("copy\n"));
        s.ok(&["rm", "-r", "/copy"]);
        s.ok(&["rm", "/m/a.txt"]);
        s.ok(&["rm", "-f", "/m/never-was"]);
        assert!(!s.text(&["ls", "/"]).contains("copy\n"));

        // sync: only what differs; --delete removes extras; dry run first
        std::fs::write(src.join("a.txt"), b"changed!\n").unwrap();
        s.ok(&["touch", "/up/extra"]);
        let plan = s.text(&[
            OsStr::new("sync"),
            OsStr::new("-n"),
            OsStr::new("--delete"),
            src.as_os_str(),
            OsStr::new(":/up"),
        ]);
        assert!(
            plan.contains("would copy") && plan.contains("would remove /up/extra"),
            "{plan}"
        );
        assert!(s.text(&["ls", "/up"]).contains("extra"));
        let js = s.text(&[
            OsStr::new("sync"),
            OsStr::new("--json"),
            OsStr::new("--delete"),
            src.as_os_str(),
            OsStr::new(":/up"),
        ]);
        let js: serde_json::Value = serde_json::from_str(js.trim()).unwrap();
        assert_eq!(
            (js["files"].as_u64(), js["removed"].as_u64()),
            (Some(1), Some(1)),
            "{js}"
        );
        assert!(js["skipped"].as_u64().unwrap() >= 2, "{js}");
        assert_eq!(s.ok(&["cat", "/up/a.txt"]), b"changed!\n");

        // completions
        let bash = s.text(&["completions", "bash"]);
        assert!(bash.contains("zerofs-cli") && bash.contains("sync"));
    }
}

#[test]
fn errors_name_the_path_and_errno_and_set_the_exit_code() {
    let s = Serve::start("z");
    s.ok(&["touch", "/file"]);
    let o = s.run(&["ls", "/nope"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nope") && err.contains("ENOENT"), "{err}");
    // Some fail, some succeed: still 1, and the good output is printed.
    let o = s.run(&["stat", "/nope", "/file"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("File: /file"));
    let o = s.run(&["ls", "/file/below"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ENOTDIR"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = s.run(&["rm", "/"]);
    assert_eq!(o.status.code(), Some(1));
    // Permission denied: a directory only root may enter, listed as another user.
    s.ok(&["mkdir", "-m", "700", "/private"]);
    s.ok(&["touch", "/private/x"]);
    let o = s.run(&["--uid", "4242", "--gid", "4242", "ls", "/private"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/private") && err.contains("EACCES"), "{err}");
    // A missing local source.
    let o = s.run(&["put", "/definitely/not/here", ":/x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/definitely/not/here") && err.contains("ENOENT"),
        "{err}"
    );
    // Usage errors are 2.
    assert_eq!(s.run(&["ls", "--bogus"]).status.code(), Some(2));
    assert_eq!(s.run(&["chmod", "999", "/file"]).status.code(), Some(2));
    assert_eq!(s.run(&["put", "only-one"]).status.code(), Some(2));
    // No server at all: a clear message, exit 1, quickly.
    let started = Instant::now();
    let o = Command::new(BIN)
        .args([
            "--target",
            "127.0.0.1:1",
            "--connect-timeout",
            "1",
            "ls",
            "/",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach the server"));
    assert!(started.elapsed() < Duration::from_secs(20));
    let o = Command::new(BIN)
        .env_remove("ZEROFS_TARGET")
        .args(["ls", "/"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ZEROFS_TARGET"));
}

#[test]
fn ls_r_tree_find_du_and_chmod_r_walk_in_order_and_go_on_past_errors() {
    for generation in ["z", "plain"] {
        let s = Serve::start(generation);
        for d in ["/w/b/deep", "/w/empty", "/w/.hid", "/w/c"] {
            s.ok(&["mkdir", "-p", d]);
        }
        for f in ["/w/a", "/w/b/f", "/w/b/deep/g", "/w/.hid/h", "/w/c/.dot"] {
            s.ok(&["touch", f]);
        }
        // A symlink to a directory: listed, never followed.
        s.ok(&["ln", "-s", "/w/b", "/w/link"]);
        assert_eq!(
            s.text(&["ls", "-R", "/w"]),
            "/w:\na\nb\nc\nempty\nlink\n\n/w/b:\ndeep\nf\n\n/w/b/deep:\ng\n\n/w/c:\n\n\
             /w/empty:\n",
            "{generation}"
        );
        assert_eq!(
            s.text(&["tree", "/w"]),
            "/w\n├── a\n├── b\n│   ├── deep\n│   │   └── g\n│   └── f\n├── c\n├── empty\n\
             └── link\n\n4 directories, 4 files\n",
            "{generation}"
        );
        assert_eq!(
            s.text(&["tree", "-L", "1", "-a", "/w"]),
            "/w\n├── .hid\n├── a\n├── b\n├── c\n├── empty\n└── link\n\n\
             4 directories, 2 files\n"
        );
        // find: pre-order, each directory before what it holds.
        assert_eq!(
            s.text(&["find", "/w", "--name", "[!.]*"]),
            "/w\n/w/.hid/h\n/w/a\n/w/b\n/w/b/deep\n/w/b/deep/g\n/w/b/f\n/w/c\n/w/empty\n/w/link\n"
        );
        assert_eq!(
            s.text(&["find", "/w", "--maxdepth", "2", "--type", "f"]),
            "/w/.hid/h\n/w/a\n/w/b/f\n/w/c/.dot\n"
        );
        s.ok(&["chmod", "-R", "700", "/w"]);
        assert!(s.text(&["stat", "/w/b/deep/g"]).contains("(0700/"));
        assert!(s.text(&["stat", "/w/.hid/h"]).contains("(0700/"));

        // A directory another user may not list: reported with the errno, exit code 1, and
        // everything else is still walked and printed.
        s.ok(&["mkdir", "-m", "755", "/pub", "/pub/open"]);
        s.ok(&["mkdir", "-m", "700", "/pub/closed"]);
        s.ok(&["touch", "/pub/open/x", "/pub/closed/y", "/pub/z"]);
        s.ok(&["chmod", "755", "/pub/open", "/pub"]);
        for (args, seen) in [
            (&["find", "/pub"][..], "/pub/open/x\n/pub/z\n"),
            (&["ls", "-R", "/pub"], "/pub/open:\nx\n"),
            (&["tree", "/pub"], "│   └── x\n└── z\n"),
            (&["du", "/pub"], "0\t/pub/open\n"),
        ] {
            let mut full = vec!["--uid", "4242", "--gid", "4242"];
            full.extend_from_slice(args);
            let o = s.run(&full);
            let (out, err) = (
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr),
            );
            assert_eq!(o.status.code(), Some(1), "{args:?}: {out}{err}");
            assert!(
                err.contains("/pub/closed") && err.contains("EACCES"),
                "{args:?}: {err}"
            );
            assert!(out.contains(seen), "{args:?}: {out}");
            assert!(!out.contains('y'), "{args:?}: {out}");
        }
    }
}

#[test]
fn non_utf8_names_survive_ls_json_put_and_get() {
    let s = Serve::start("gen2");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let raw = OsStr::from_bytes(b"caf\xe9-\xff.bin");
    std::fs::write(src.join(raw), b"latin1").unwrap();
    std::fs::write(src.join("back\\slash"), b"bs").unwrap();
    s.ok(&[
        OsStr::new("put"),
        OsStr::new("-r"),
        src.as_os_str(),
        OsStr::new(":/d"),
    ]);
    let ls = s.text(&["ls", "/d"]);
    assert_eq!(ls, "back\\\\slash\ncaf\\xe9-\\xff.bin\n");
    let js: Vec<serde_json::Value> = s
        .text(&["--json", "ls", "/d"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(js[0]["name"], "back\\slash");
    assert!(js[0].get("escaped").is_none());
    assert_eq!(js[1]["name"], "caf\\xe9-\\xff.bin");
    assert_eq!(js[1]["escaped"], true);
    // What ls printed works as an argument with --escaped; raw bytes work as they are.
    assert_eq!(
        s.ok(&["--escaped", "cat", "/d/caf\\xe9-\\xff.bin"]),
        b"latin1"
    );
    assert_eq!(s.ok(&["--escaped", "cat", "/d/back\\\\slash"]), b"bs");
    let mut rawpath = b"/d/".to_vec();
    rawpath.extend_from_slice(raw.as_bytes());
    assert_eq!(
        s.ok(&[OsStr::new("cat"), OsStr::from_bytes(&rawpath)]),
        b"latin1"
    );
    let back = tmp.path().join("back");
    s.ok(&[
        OsStr::new("get"),
        OsStr::new("-r"),
        OsStr::new("/d"),
        back.as_os_str(),
    ]);
    assert_eq!(std::fs::read(back.join(raw)).unwrap(), b"latin1");
    same_tree(&src, &back);
}

#[test]
fn ten_thousand_small_files_round_trip() {
    let s = Serve::start("z");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    for d in 0..100 {
        let dir = src.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(
                dir.join(format!("f{f:03}")),
                format!("{d}/{f} {}", "x".repeat(d + f)),
            )
            .unwrap();
        }
    }
    let js = s.text(&[
        OsStr::new("put"),
        OsStr::new("--json"),
        OsStr::new("-r"),
        src.as_os_str(),
        OsStr::new(":/many"),
    ]);
    let js: serde_json::Value = serde_json::from_str(js.trim()).unwrap();
    assert_eq!(
        (js["files"].as_u64(), js["failed"].as_u64()),
        (Some(10_000), Some(0))
    );
    let back = tmp.path().join("back");
    s.ok(&[
        OsStr::new("get"),
        OsStr::new("-q"),
        OsStr::new("-r"),
        OsStr::new("/many"),
        back.as_os_str(),
    ]);
    same_tree(&src, &back);
    assert_eq!(
        s.text(&["find", "/many", "--type", "f"]).lines().count(),
        10_000
    );
}

/// Writes `len` bytes of a cheap pseudo-random pattern to `path` in 1 MiB pieces.
fn big_file(path: &Path, len: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for c in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
}

fn same_file(a: &Path, b: &Path) {
    let st = Command::new("cmp").arg(a).arg(b).status().unwrap();
    assert!(st.success(), "{} and {} differ", a.display(), b.display());
}

#[test]
fn a_one_gib_file_round_trips_byte_for_byte() {
    let s = Serve::start("z");
    let tmp = tempfile::tempdir().unwrap();
    let (src, back) = (tmp.path().join("big"), tmp.path().join("big.back"));
    big_file(&src, 1 << 30);
    s.ok(&[
        OsStr::new("put"),
        OsStr::new("-q"),
        src.as_os_str(),
        OsStr::new(":/big"),
    ]);
    assert!(
        s.text(&["stat", "/big"])
            .contains(&format!("Size: {}", 1u64 << 30))
    );
    s.ok(&[
        OsStr::new("get"),
        OsStr::new("-q"),
        OsStr::new(":/big"),
        back.as_os_str(),
    ]);
    same_file(&src, &back);
}

/// Waits (bounded) until `started` holds while `child` runs, sends it SIGINT, and checks it
/// exits with 130.
fn interrupt_when(child: &mut Child, started: impl Fn() -> bool) {
    let start = Instant::now();
    while !started() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the transfer never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it was interrupted"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    sigint(child.id());
    assert_eq!(wait_exit(child, Duration::from_secs(30)).code(), Some(130));
}

#[test]
fn sigint_during_put_and_get_leaves_no_partial_file() {
    let s = Serve::start("z");
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big");
    big_file(&src, 1 << 30);
    let mut child = s
        .cli()
        .args([OsStr::new("put"), src.as_os_str(), OsStr::new(":/big")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once the temporary file exists on the server.
    interrupt_when(&mut child, || s.text(&["ls", "-a", "/"]).contains("zfpart"));
    assert_eq!(
        s.text(&["ls", "-a", "/"]),
        "",
        "partial file left on the server"
    );

    // Downwards: the local temporary goes too.
    s.ok(&[
        OsStr::new("put"),
        OsStr::new("-q"),
        src.as_os_str(),
        OsStr::new(":/big"),
    ]);
    let dir = tmp.path().join("down");
    std::fs::create_dir(&dir).unwrap();
    let mut child = s
        .cli()
        .args([OsStr::new("get"), OsStr::new(":/big"), dir.as_os_str()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    interrupt_when(&mut child, || std::fs::read_dir(&dir).unwrap().count() > 0);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn serve_stops_on_sigint() {
    let mut s = Serve::start("plain");
    s.ok(&["touch", "/x"]);
    sigint(s.child.id());
    assert!(wait_exit(&mut s.child, Duration::from_secs(10)).success());
}

/// A real server from the environment (`cargo xtask ci cli-interop` sets `ZEROFS_TARGET`
/// and `ZEROFS_ANAME` per column: diod and ZeroFS 0.19.1 over TCP and unix sockets).
struct External {
    target: String,
    aname: String,
    root: String,
}

impl External {
    fn from_env() -> External {
        let target = std::env::var("ZEROFS_TARGET").expect("ZEROFS_TARGET names the server");
        let aname = std::env::var("ZEROFS_ANAME").unwrap_or_default();
        External {
            target,
            aname,
            root: format!("/zerofs-cli-{}", std::process::id()),
        }
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        Command::new(BIN)
            .args(["--target", &self.target, "--aname", &self.aname])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<u8> {
        succeeded(args, self.run(args))
    }

    fn p(&self, rel: &str) -> String {
        format!("{}{rel}", self.root)
    }
}

#[test]
#[ignore = "needs a real server: cargo xtask ci cli-interop"]
fn external_every_subcommand_and_a_tree_round_trip() {
    let s = External::from_env();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sub/empty")).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha\n").unwrap();
    for i in 0..200 {
        std::fs::write(src.join(format!("sub/f{i:03}")), format!("file {i}")).unwrap();
    }
    big_file(&src.join("sub/big.bin"), 20 << 20);
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    std::fs::write(src.join(OsStr::from_bytes(b"raw-\xff")), b"raw").unwrap();

    s.ok(&["mkdir", "-p", &s.p("")]);
    let up = s.p("/up");
    s.ok(&[
        OsStr::new("put"),
        OsStr::new("-q"),
        OsStr::new("-r"),
        src.as_os_str(),
        OsStr::new(&format!(":{up}")),
    ]);
    let ls = String::from_utf8(s.ok(&["ls", &up])).unwrap();
    assert_eq!(ls, "a.txt\nlink\nraw-\\xff\nsub\n");
    let long = String::from_utf8(s.ok(&["ls", "-l", &up])).unwrap();
    assert!(long.contains("link -> a.txt"), "{long}");
    assert!(
        String::from_utf8(s.ok(&["stat", &format!("{up}/a.txt")]))
            .unwrap()
            .contains("Size: 6")
    );
    assert_eq!(s.ok(&["cat", &format!("{up}/a.txt")]), b"alpha\n");
    let found = String::from_utf8(s.ok(&["find", &up, "--name", "f1*", "--type", "f"])).unwrap();
    assert_eq!(found.lines().count(), 100);
    let du = String::from_utf8(s.ok(&["du", "-s", "--json", &up])).unwrap();
    let du: serde_json::Value = serde_json::from_str(du.trim()).unwrap();
    assert_eq!(du["files"].as_u64(), Some(204), "{du}");
    s.ok(&["df"]);
    s.ok(&["tree", &up]);

    let back = tmp.path().join("back");
    s.ok(&[
        OsStr::new("get"),
        OsStr::new("-q"),
        OsStr::new("-r"),
        OsStr::new(&format!(":{up}")),
        back.as_os_str(),
    ]);
    same_tree(&src, &back);

    s.ok(&[
        "cp",
        "-q",
        "-r",
        &format!(":{up}/sub"),
        &format!(":{}", s.p("/copy")),
    ]);
    assert_eq!(s.ok(&["cat", &s.p("/copy/f007")]), b"file 7");
    s.ok(&["mv", &s.p("/copy"), &s.p("/moved")]);
    s.ok(&["touch", &s.p("/moved/t")]);
    s.ok(&["chmod", "600", &s.p("/moved/t")]);
    s.ok(&["ln", "-s", "t", &s.p("/moved/l")]);
    std::fs::write(src.join("a.txt"), b"changed\n").unwrap();
    s.ok(&[
        OsStr::new("sync"),
        OsStr::new("-q"),
        src.as_os_str(),
        OsStr::new(&format!(":{up}")),
    ]);
    assert_eq!(s.ok(&["cat", &format!("{up}/a.txt")]), b"changed\n");

    let o = s.run(&["ls", &s.p("/nope")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ENOENT"));
    let o = s.run(&["ls", &format!("{up}/a.txt/x")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    // diod answers a walk through a file with ENOENT, ZeroFS with ENOTDIR.
    let want = if std::env::var("ZEROFS_SERVER").is_ok_and(|s| s == "diod") {
        "ENOENT"
    } else {
        "ENOTDIR"
    };
    assert!(err.contains("a.txt/x") && err.contains(want), "{err}");

    s.ok(&["rm", "-r", &s.root]);
    assert_eq!(s.run(&["stat", &s.root]).status.code(), Some(1));
}
