//! The parent side: starts the worker process and exchanges JSON lines with it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{
    ANSWER_PREFIX, Answer, CasDerivation, CasError, Malformed, Parts, Request, WORKER_COMMAND,
};
use crate::design::{Design, Subscripts};
use crate::ems::{EmsEntry, EmsTable, Estimator, Model, Monomial, Ratio};

/// What Symbolica prints (on stdout) before it aborts because another instance holds its
/// one-thread allowance.
const LOCK_WARNING: &str = "Cannot start another restricted Symbolica thread";

/// How long the worker may take to start (Symbolica's licence check runs in the
/// background and does not delay it).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one request may take by default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A line of the worker's stdout.
enum Line {
    Answer(String),
    /// Anything else: Symbolica's banner or warnings.
    Stray(String),
}

/// A Symbolica worker process, reused for any number of requests (one at a time).
///
/// Dropping it closes the worker's stdin; the worker then exits.
pub struct SymbolicaEngine {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<String>>,
    next_id: u64,
    timeout: Duration,
    lock_held: bool,
    dead: Option<CasError>,
}

impl std::fmt::Debug for SymbolicaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolicaEngine")
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl SymbolicaEngine {
    /// Starts `exe __symbolica-worker` (with `SYMBOLICA_HIDE_BANNER=1`) and waits until
    /// Symbolica runs in it. Fails when this build lacks the feature, when the process
    /// cannot start, or when Symbolica refuses to run in it (another unlicensed Symbolica
    /// process of this user is running: [`CasError::Died`] with `lock_held`).
    pub fn spawn(exe: &Path) -> Result<SymbolicaEngine, CasError> {
        if !super::SYMBOLICA_BUILT {
            return Err(CasError::NotBuilt);
        }
        let mut child = Command::new(exe)
            .arg(WORKER_COMMAND)
            .env("SYMBOLICA_HIDE_BANNER", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| CasError::Spawn {
                exe: exe.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                let mut out = BufReader::new(out);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match out.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    let msg = match line.strip_prefix(ANSWER_PREFIX) {
                        Some(rest) => Line::Answer(rest.to_string()),
                        None => Line::Stray(line),
                    };
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = keep.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                        // Keep the tail only.
                        if s.len() > 16_384 {
                            let cut = s.len() - 8_192;
                            let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i));
                            if let Some(cut) = cut {
                                s.drain(..cut);
                            }
                        }
                    }
                }
            });
        }
        let mut engine = SymbolicaEngine {
            child,
            stdin,
            lines,
            stderr,
            next_id: 1,
            timeout: REQUEST_TIMEOUT,
            lock_held: false,
            dead: None,
        };
        match engine.next_answer(START_TIMEOUT, true)? {
            Answer::Ready { .. } => Ok(engine),
            other => Err(engine.fail(CasError::Protocol(format!(
                "expected `ready`, got {}",
                short(&format!("{other:?}"))
            )))),
        }
    }

    /// How long one request may take before the worker is stopped (default 300 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The worker's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the worker wrote on stderr lately (panics, Symbolica's messages): for
    /// diagnostics.
    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The EMS table computed by Symbolica.
    pub fn derive(&mut self, design: &Design, model: Model) -> Result<EmsTable, CasError> {
        Ok(self.derive_with_solutions(design, model)?.table)
    }

    /// Symbolica's symbolic solutions (moment equations, F′ denominators) as text and LaTeX.
    pub fn solutions(
        &mut self,
        design: &Design,
        model: Model,
    ) -> Result<super::Solutions, CasError> {
        Ok(self.derive_with_solutions(design, model)?.solutions)
    }

    /// The EMS table and the symbolic solutions, from one request.
    pub fn derive_with_solutions(
        &mut self,
        design: &Design,
        model: Model,
    ) -> Result<CasDerivation, CasError> {
        if let Some(e) = &self.dead {
            return Err(copy_error(e));
        }
        let id = self.next_id;
        self.next_id += 1;
        let request = Request {
            id,
            spec: design.spec().clone(),
            model,
        };
        let mut line = serde_json::to_string(&request)
            .map_err(|e| CasError::Protocol(format!("cannot encode the request: {e}")))?;
        line.push('\n');
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
                .is_ok(),
            None => false,
        };
        if !written {
            // The worker has gone: report how it ended.
            let e = self.ended(false);
            return Err(self.fail(e));
        }
        match self.next_answer(self.timeout, false)? {
            Answer::Derived { id: got, parts } if got == id => {
                let table = assemble(design, model, &parts)
                    .map_err(|e| CasError::Protocol(format!("inconsistent answer: {e}")))?;
                Ok(CasDerivation {
                    table,
                    solutions: parts.solutions,
                })
            }
            Answer::Failed { id: got, message } if got == id => Err(CasError::Failed(message)),
            // Requests are answered in order and a timed-out worker is stopped, so anything
            // else is a protocol error.
            other => {
                let e = CasError::Protocol(format!(
                    "unexpected answer {}",
                    short(&format!("{other:?}"))
                ));
                Err(self.fail(e))
            }
        }
    }

    /// The next answer line, skipping stray lines. On end of output or timeout, the worker
    /// is stopped and the error kept for later requests.
    fn next_answer(&mut self, timeout: Duration, starting: bool) -> Result<Answer, CasError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Answer(text)) => {
                    return serde_json::from_str::<Answer>(&text).map_err(|e| {
                        let e = CasError::Protocol(format!("{e}: {}", short(&text)));
                        self.fail(e)
                    });
                }
                Ok(Line::Stray(text)) => {
                    if text.contains(LOCK_WARNING) {
                        self.lock_held = true;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let e = CasError::Timeout(timeout.as_secs());
                    return Err(self.fail(e));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let e = self.ended(starting);
                    return Err(self.fail(e));
                }
            }
        }
    }

    /// The error for a worker whose output has ended: waits for it (briefly) to learn
    /// its exit status.
    fn ended(&mut self, starting: bool) -> CasError {
        // Drain what is left, to see Symbolica's warning.
        while let Ok(line) = self.lines.try_recv() {
            if let Line::Stray(text) = line
                && text.contains(LOCK_WARNING)
            {
                self.lock_held = true;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break describe(status),
                Ok(None) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => break "still running, output closed".to_string(),
                Err(e) => break format!("status unknown: {e}"),
            }
        };
        CasError::Died {
            starting,
            status,
            lock_held: self.lock_held,
        }
    }

    /// Stops the worker, remembers the error for later requests, and returns it.
    fn fail(&mut self, e: CasError) -> CasError {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dead = Some(copy_error(&e));
        e
    }
}

impl Drop for SymbolicaEngine {
    fn drop(&mut self) {
        // Closing stdin asks the worker to exit; give it a moment, then make sure.
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!(
                "killed by signal {sig}{}",
                if sig == 6 { ", abort" } else { "" }
            );
        }
    }
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "exit status unknown".to_string(),
    }
}

fn copy_error(e: &CasError) -> CasError {
    match e {
        CasError::NotBuilt => CasError::NotBuilt,
        CasError::Spawn { exe, source } => CasError::Spawn {
            exe: exe.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        CasError::Died {
            starting,
            status,
            lock_held,
        } => CasError::Died {
            starting: *starting,
            status: status.clone(),
            lock_held: *lock_held,
        },
        CasError::Timeout(s) => CasError::Timeout(*s),
        CasError::Protocol(m) => CasError::Protocol(m.clone()),
        CasError::Failed(m) => CasError::Failed(m.clone()),
        CasError::Absorbing(m) => CasError::Absorbing(m.clone()),
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Builds the table from the worker's parts, after checking every index.
fn assemble(design: &Design, model: Model, parts: &Parts) -> Result<EmsTable, Malformed> {
    let rows = design.terms.len() + 1;
    let columns = design.n_factors() + 1;
    let col_mask = (1u64 << columns) - 1;
    let check_row = |u: usize| {
        if u < rows {
            Ok(u)
        } else {
            Err(Malformed(format!(
                "row {u} out of range (the design has {rows} rows)"
            )))
        }
    };
    let check_mask = |m: u64| {
        if m & !col_mask == 0 {
            Ok(Monomial(Subscripts(m)))
        } else {
            Err(Malformed(format!(
                "coefficient mask {m:#x} names unknown columns"
            )))
        }
    };
    if parts.ems.len() != rows || parts.denominators.len() != rows {
        return Err(Malformed(format!(
            "{} EMS and {} denominators for {rows} rows",
            parts.ems.len(),
            parts.denominators.len()
        )));
    }
    let ems = parts
        .ems
        .iter()
        .map(|entries| {
            entries
                .iter()
                .map(|&(u, m)| {
                    Ok(EmsEntry {
                        component: check_row(u)?,
                        coefficient: check_mask(m)?.into(),
                    })
                })
                .collect::<Result<Vec<_>, Malformed>>()
        })
        .collect::<Result<Vec<_>, Malformed>>()?;
    let denominators = parts
        .denominators
        .iter()
        .map(|d| {
            d.iter()
                .map(|&(v, w)| Ok((check_row(v)?, Ratio::integer(w))))
                .collect::<Result<Vec<_>, Malformed>>()
        })
        .collect::<Result<Vec<_>, Malformed>>()?;
    let estimators = parts
        .estimators
        .iter()
        .map(|e| {
            Ok(Estimator {
                component: check_row(e.component)?,
                combination: e
                    .combination
                    .iter()
                    .map(|&(v, w)| Ok((check_row(v)?, Ratio::integer(w))))
                    .collect::<Result<Vec<_>, Malformed>>()?,
                divisor: check_mask(e.divisor)?,
            })
        })
        .collect::<Result<Vec<_>, Malformed>>()?;
    for s in parts
        .solutions
        .components
        .iter()
        .chain(&parts.solutions.denominators)
    {
        check_row(s.term)?;
    }
    Ok(EmsTable::from_parts(
        design,
        model,
        ems,
        denominators,
        estimators,
    ))
}
