//! The command line (clap).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Look at and move data on a ZeroFS (or any 9P2000.L) server.
///
/// Server paths are written `:path`, `zerofs://host:port/path`, or (for commands that only
/// work on the server) plain. Names that are not UTF-8 print with `\xNN` escapes; pass
/// `--escaped` to give paths in that form.
#[derive(Debug, Parser)]
#[command(name = "zerofs-cli", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    #[arg(
        long,
        short = 't',
        env = "ZEROFS_TARGET",
        global = true,
        help = "The server: host:port, tcp://host:port, [v6]:port, unix:/path or /path.sock"
    )]
    pub target: Option<String>,
    /// The export to attach to.
    #[arg(long, global = true, default_value = "")]
    pub aname: String,
    /// User id to attach as (default: yours).
    #[arg(long, global = true)]
    pub uid: Option<u32>,
    /// Group id for new files (default: yours).
    #[arg(long, global = true)]
    pub gid: Option<u32>,
    /// Largest message size to ask for, in bytes.
    #[arg(long, global = true)]
    pub msize: Option<u32>,
    /// Seconds to wait for the server at start.
    #[arg(long, global = true, default_value_t = 10)]
    pub connect_timeout: u32,
    /// No progress bars and no notes on stderr (errors still print).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// JSON output (listings, stat, du, df, find, and transfer summaries).
    #[arg(long, global = true)]
    pub json: bool,
    /// Path arguments use the `\xNN` escapes the output uses.
    #[arg(long, global = true)]
    pub escaped: bool,
    /// Show what a destructive command would do, and do nothing.
    #[arg(long, short = 'n', global = true)]
    pub dry_run: bool,
}

/// Transfer tuning shared by put, get, cp and sync.
#[derive(Debug, Args, Clone)]
pub struct TransferArgs {
    /// Copy directories recursively.
    #[arg(long, short = 'r', short_alias = 'R')]
    pub recursive: bool,
    /// Files copied at once.
    #[arg(long, short = 'j', default_value_t = 32)]
    pub jobs: usize,
    /// Do not keep permission bits.
    #[arg(long)]
    pub no_modes: bool,
    /// Do not keep modification times.
    #[arg(long)]
    pub no_times: bool,
    /// Skip symlinks instead of recreating them.
    #[arg(long)]
    pub no_symlinks: bool,
    /// Write zero blocks instead of leaving holes.
    #[arg(long)]
    pub no_sparse: bool,
    /// Write destination files in place (a cancelled copy leaves a partial file).
    #[arg(long)]
    pub in_place: bool,
    /// Print each file as it is copied.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List directories.
    Ls {
        /// Long format: type and mode, links, owner, group, size, time, name.
        #[arg(short = 'l')]
        long: bool,
        /// Show names starting with a dot.
        #[arg(short = 'a')]
        all: bool,
        /// List subdirectories recursively.
        #[arg(short = 'R')]
        recursive: bool,
        /// Sizes as 1.5K, 23M, 4.0G.
        #[arg(short = 'H', long = "human-readable")]
        human: bool,
        #[arg(default_value = "/")]
        paths: Vec<OsString>,
    },
    /// Show a directory tree.
    Tree {
        #[arg(default_value = "/")]
        path: OsString,
        /// Show names starting with a dot.
        #[arg(short = 'a')]
        all: bool,
        /// Descend at most this many levels.
        #[arg(short = 'L', long)]
        level: Option<usize>,
    },
    /// Show the attributes of paths (symlinks not followed).
    Stat {
        #[arg(required = true)]
        paths: Vec<OsString>,
    },
    /// Write files to standard output.
    Cat {
        #[arg(required = true)]
        paths: Vec<OsString>,
    },
    /// Upload local files or trees: put LOCAL... SERVER-PATH
    Put {
        #[arg(required = true, num_args = 2..)]
        args: Vec<OsString>,
        #[command(flatten)]
        t: TransferArgs,
    },
    /// Download files or trees: get SERVER-PATH... LOCAL
    Get {
        #[arg(required = true, num_args = 2..)]
        args: Vec<OsString>,
        #[command(flatten)]
        t: TransferArgs,
    },
    /// Copy between any two places (`:path` or zerofs:// for the server side).
    Cp {
        #[arg(required = true, num_args = 2..)]
        args: Vec<OsString>,
        #[command(flatten)]
        t: TransferArgs,
    },
    /// Make the destination tree match the source: copies what differs (size or mtime).
    Sync {
        source: OsString,
        dest: OsString,
        /// Also remove destination entries the source does not have.
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        t: TransferArgs,
    },
    /// Rename or move on the server: mv SRC... DEST
    Mv {
        #[arg(required = true, num_args = 2..)]
        args: Vec<OsString>,
    },
    /// Remove files (and with -r, directories).
    Rm {
        /// Remove directories and everything below them.
        #[arg(short = 'r', short_alias = 'R', long)]
        recursive: bool,
        /// Ignore missing paths.
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(required = true)]
        paths: Vec<OsString>,
    },
    /// Create directories.
    Mkdir {
        /// Create parents as needed; no error if it exists.
        #[arg(short = 'p', long)]
        parents: bool,
        /// Permission bits, octal.
        #[arg(short = 'm', long, default_value = "755", value_parser = octal)]
        mode: u32,
        #[arg(required = true)]
        paths: Vec<OsString>,
    },
    /// Make links: ln [-s] TARGET LINK
    Ln {
        /// A symbolic link (TARGET is stored as given).
        #[arg(short = 's', long)]
        symbolic: bool,
        /// What the link points to.
        #[arg(value_name = "TARGET")]
        link_target: OsString,
        link: OsString,
    },
    /// Create empty files or set their times to now.
    Touch {
        /// Do not create missing files.
        #[arg(short = 'c', long)]
        no_create: bool,
        #[arg(required = true)]
        paths: Vec<OsString>,
    },
    /// Change permission bits: chmod MODE PATH...
    Chmod {
        /// Octal mode, e.g. 644.
        #[arg(value_parser = octal)]
        mode: u32,
        #[arg(required = true)]
        paths: Vec<OsString>,
        /// Recurse into directories.
        #[arg(short = 'R', long)]
        recursive: bool,
    },
    /// Disk usage: bytes below each path (apparent sizes).
    Du {
        /// Only the total of each argument.
        #[arg(short = 's', long)]
        summarize: bool,
        /// Sizes as 1.5K, 23M, 4.0G.
        #[arg(short = 'H', long = "human-readable")]
        human: bool,
        #[arg(default_value = "/")]
        paths: Vec<OsString>,
    },
    /// File system size and free space.
    Df {
        /// Sizes as 1.5K, 23M, 4.0G.
        #[arg(short = 'H', long = "human-readable")]
        human: bool,
    },
    /// Find paths by name glob, type and size.
    Find {
        #[arg(default_value = "/")]
        path: OsString,
        /// Name glob (`*`, `?`, `[a-z]`), matched against the last component.
        #[arg(long)]
        name: Option<OsString>,
        /// f (file), d (directory), l (symlink).
        #[arg(long = "type", value_enum)]
        kind: Option<FindType>,
        /// Size in bytes, +N larger, -N smaller; suffixes K, M, G.
        #[arg(long, allow_hyphen_values = true)]
        size: Option<String>,
        /// Descend at most this many levels.
        #[arg(long)]
        maxdepth: Option<usize>,
    },
    /// Run an in-memory server in the foreground until ctrl-c (to try the tool).
    Serve {
        /// TCP address to listen on.
        #[arg(long, default_value = "127.0.0.1:5564")]
        listen: String,
        /// Also (or, with --no-tcp, only) listen on this unix socket.
        #[arg(long)]
        unix: Option<PathBuf>,
        /// Do not listen on TCP.
        #[arg(long)]
        no_tcp: bool,
        /// Server generation to behave as: plain (ZeroFS 0.19), gen1, gen2, z.
        #[arg(long, default_value = "z")]
        generation: String,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindType {
    /// Regular file.
    F,
    /// Directory.
    D,
    /// Symbolic link.
    L,
}

fn octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("{s:?} is not an octal mode (0-7777)"))
}
