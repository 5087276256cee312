//! The command line. `serve` and `config` run the gateway ([`serve`]); every other command
//! is a client of a running gateway over its HTTP API, through `vidgate-client`, one
//! module per command group. Those commands print the API's own objects with `--json`,
//! tables otherwise, and fail (exit 1) with the gateway's error code and message.

mod accounts;
mod admin;
mod follow;
mod generate;
mod keys;
mod output;
mod own;
mod profile;
mod serve;
mod tasks;
mod upstream_control;
mod upstreams;

use clap::{CommandFactory, Parser, Subcommand};
use std::time::Duration;

use vidgate_client::{Client, Options, RetryPolicy};

/// The gateway's URL when neither a flag, the environment nor the profile names one.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

const AFTER_HELP: &str = "\
The client commands talk to the gateway at VIDGATE_URL (default http://127.0.0.1:8080) with
the API key in VIDGATE_API_KEY or, for accounts, credits, keys, admin and upstreams
list|show|set, the admin token in VIDGATE_ADMIN_TOKEN; --url, --api-key and --admin-token
win over the environment, and both over the profile `vidgate login` saves
(~/.config/vidgate/profile.toml, mode 0600).
Calls that are safe to repeat are retried with backoff: --retries (VIDGATE_RETRIES, 4
attempts in all); --connect-timeout-secs (VIDGATE_CONNECT_TIMEOUT_SECS, 10) and
--read-timeout-secs (VIDGATE_READ_TIMEOUT_SECS, 60) bound the waits. Exit status: 0 on
success, 1 on an error (the gateway's code and message are printed), 2 on a usage error.

Examples:
  vidgate generate \"a paper boat on a river\" --model veo3.1 --duration 5 --audio -o boat.mp4
  vidgate tasks ls --status running
  vidgate accounts create --name acme
  vidgate credits add acct_01... 50 --note \"first top-up\"
  vidgate keys create --account acct_01... --name prod --mode live
  vidgate upstreams set ark:team-b --disable";

/// A self-hosted gateway for video-generation models: run it, and use it from a terminal.
#[derive(Parser)]
#[command(name = "vidgate", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The flags every client command takes.
#[derive(clap::Args)]
pub struct Global {
    /// The gateway's base URL [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "VIDGATE_URL", global = true)]
    url: Option<String>,
    /// The API key (`sk-vg-…`), for generate, tasks, models, balance and usage.
    #[arg(long, env = "VIDGATE_API_KEY", hide_env_values = true, global = true)]
    api_key: Option<String>,
    /// The admin token, for accounts, credits, keys, admin and upstreams list|show|set.
    #[arg(long, env = "VIDGATE_ADMIN_TOKEN", hide_env_values = true, global = true)]
    admin_token: Option<String>,
    /// Print the API's JSON objects instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Attempts in all for calls that are safe to repeat (reads, submits with their
    /// idempotency key, cancel, downloads, stream reconnects).
    #[arg(long, env = "VIDGATE_RETRIES", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20), global = true, hide = true)]
    retries: u32,
    /// Seconds to wait for a connection to the gateway.
    #[arg(long, env = "VIDGATE_CONNECT_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), global = true, hide = true)]
    connect_timeout_secs: u64,
    /// Longest silence, in seconds, while reading an answer or the event stream (which
    /// sends a heartbeat every 15 s by default).
    #[arg(long, env = "VIDGATE_READ_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..), global = true, hide = true)]
    read_timeout_secs: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway.
    Serve(serve::ServeArgs),
    /// Show the effective configuration.
    Config {
        #[command(subcommand)]
        action: serve::ConfigAction,
    },
    /// Generate a video: submit, follow with a progress bar, download the files.
    Generate(generate::Args),
    /// List, show, wait for, cancel and download your tasks.
    Tasks {
        #[command(subcommand)]
        action: tasks::Action,
    },
    /// The models, their prices and whether your key can run them.
    Models,
    /// Your account's balance and your key's limits.
    Balance,
    /// What your account was charged, per day, model, key or mode.
    Usage(own::UsageArgs),
    /// Manage accounts (admin token).
    Accounts {
        #[command(subcommand)]
        action: accounts::AccountAction,
    },
    /// Add or remove an account's credits (admin token).
    Credits {
        #[command(subcommand)]
        action: accounts::CreditAction,
    },
    /// Manage API keys (admin token).
    Keys {
        #[command(subcommand)]
        action: keys::KeyAction,
    },
    /// Check the configured upstreams' credentials and model ids (no gateway needed), or
    /// list and control a running gateway's upstreams (admin token).
    Upstreams {
        #[command(subcommand)]
        action: upstreams::UpstreamsAction,
    },
    /// Look at every account's tasks (admin token).
    Admin {
        #[command(subcommand)]
        action: admin::AdminAction,
    },
    /// Save the gateway URL, API key and admin token given (flags or environment) in a
    /// private profile file, after checking them; later commands use them.
    Login,
    /// Remove the profile file.
    Logout,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

impl Global {
    /// A client of the gateway with these credentials; what is not given comes from the
    /// profile (`vidgate login`), if there is one.
    pub fn client(&self) -> anyhow::Result<Client> {
        let given = [&self.url, &self.api_key, &self.admin_token];
        let saved = if given.iter().all(|v| v.is_some()) { profile::Profile::default() } else { profile::load()? };
        let url = self.url.clone().or(saved.url).unwrap_or_else(|| DEFAULT_URL.to_owned());
        let options = Options {
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            read_timeout: Duration::from_secs(self.read_timeout_secs),
            retry: RetryPolicy { max_attempts: self.retries, ..RetryPolicy::default() },
        };
        let api_key = self.api_key.clone().or(saved.api_key);
        let admin_token = self.admin_token.clone().or(saved.admin_token);
        Ok(Client::new(&url, api_key, admin_token, options)?)
    }
}

/// Runs a command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Serve(args) => serve::run_serve(args).await,
        Command::Config { action } => serve::config(action),
        Command::Upstreams { action } => upstreams::run(g, action).await,
        Command::Generate(args) => generate::run(g, args).await,
        Command::Tasks { action } => tasks::run(g, action).await,
        Command::Models => own::models(g).await,
        Command::Balance => own::balance(g).await,
        Command::Usage(args) => own::usage(g, args).await,
        Command::Accounts { action } => accounts::accounts(g, action).await,
        Command::Credits { action } => accounts::credits(g, action).await,
        Command::Keys { action } => keys::keys(g, action).await,
        Command::Admin { action } => admin::admin(g, action).await,
        Command::Login => profile::login(g).await,
        Command::Logout => profile::logout(),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vidgate", &mut std::io::stdout());
            Ok(())
        }
    }
}
