//! `offchain-trainer top`: the live view of the network in the terminal (ratatui), refreshed
//! from the node every `--interval` seconds until `q`, Esc or Ctrl-C; or, with `--once`, one
//! view printed as text (for scripts, logs, or a terminal that is not one).

use anyhow::Context;
use std::{io::IsTerminal, path::PathBuf, time::Duration};
use tessera_trainer::top::{snapshot, view};

/// Options of `offchain-trainer top`.
#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
	/// WebSocket URL of a tessera node.
	#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// A local miner's or validator's report file (its `--report`): show its own progress too.
	#[arg(long)]
	report: Option<PathBuf>,
	/// Seconds between refreshes.
	#[arg(long, default_value_t = 2.0)]
	interval: f64,
	/// Print one view as text and exit.
	#[arg(long)]
	once: bool,
	/// Columns of the `--once` view.
	#[arg(long, default_value_t = 120)]
	width: u16,
	/// Lines of the `--once` view.
	#[arg(long, default_value_t = 30)]
	height: u16,
}

pub(crate) async fn run(args: TopArgs) -> anyhow::Result<()> {
	anyhow::ensure!(
		args.interval.is_finite() && args.interval >= 0.2,
		"--interval must be at least 0.2 seconds"
	);
	anyhow::ensure!(
		(40..=1000).contains(&args.width) && (10..=1000).contains(&args.height),
		"--width must be 40 to 1000 columns and --height 10 to 1000 lines"
	);
	let mut client = within(tessera_chain::connect(&args.url)).await??;
	if args.once {
		let s = within(snapshot::read(&client, &args.url, args.report.as_deref()))
			.await?
			.context("reading the chain")?;
		print!("{}", view::render_text(&s, args.width, args.height, ""));
		return Ok(());
	}
	anyhow::ensure!(
		std::io::stdout().is_terminal(),
		"standard output is not a terminal: use --once for a text view"
	);
	let interval = Duration::from_secs_f64(args.interval);
	let mut terminal = ratatui::init();
	let result = async {
		let mut last: Option<snapshot::Snapshot> = None;
		loop {
			let read = within(snapshot::read(&client, &args.url, args.report.as_deref())).await;
			let problem = match read.and_then(|r| r.map_err(anyhow::Error::from)) {
				Ok(s) => {
					last = Some(s);
					None
				},
				Err(e) => {
					if let Ok(Ok(c)) = within(tessera_chain::connect(&args.url)).await {
						client = c;
					}
					Some(format!("{e:#}: reconnecting"))
				},
			};
			let footer = match &problem {
				Some(p) => format!("q quits · {p}"),
				None => format!("q quits · refreshed every {:.1} s", args.interval),
			};
			match &last {
				Some(s) => terminal.draw(|frame| view::draw(frame, s, &footer))?,
				None => terminal.draw(|frame| {
					let text = ratatui::widgets::Paragraph::new(footer.clone());
					frame.render_widget(text, frame.area());
				})?,
			};
			if quit_within(interval)? {
				return Ok::<_, anyhow::Error>(());
			}
		}
	}
	.await;
	ratatui::restore();
	result
}

/// How long one read of the chain may take: a stalled node must not freeze the view (keys
/// are read only between reads).
const READ_LIMIT: Duration = Duration::from_secs(10);

async fn within<T>(read: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
	tokio::time::timeout(READ_LIMIT, read)
		.await
		.map_err(|_| anyhow::anyhow!("the node did not answer within {READ_LIMIT:?}"))
}

/// Waits up to `wait` for a key; whether it asks to quit (q, Esc, Ctrl-C).
fn quit_within(wait: Duration) -> anyhow::Result<bool> {
	use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
	let deadline = std::time::Instant::now() + wait;
	loop {
		let left = deadline.saturating_duration_since(std::time::Instant::now());
		if left.is_zero() {
			return Ok(false);
		}
		if !tokio::task::block_in_place(|| event::poll(left)).context("reading the terminal")? {
			return Ok(false);
		}
		if let Event::Key(key) = event::read().context("reading the terminal")?
			&& key.kind == KeyEventKind::Press
		{
			let ctrl_c =
				key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
			if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
				return Ok(true);
			}
		}
	}
}
