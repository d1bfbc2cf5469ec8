//! Hostile input through the binary (issue 16): output paths that are not plain files or
//! that name an input, signals during `simulate`, out-of-range and non-finite arguments,
//! huge level counts, reserved factor names, design files that are not UTF-8, malformed
//! term lists, and `gui` with a bad design. Every case: exit status 2 with one message
//! naming the file and the problem, nothing destroyed, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::emslab;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a command that must fail with exit status 2 and one line on stderr; returns it.
fn input_error(args: &[&str]) -> String {
    let o = emslab(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

fn shipped(name: &str) -> String {
    common::design_path(name).display().to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".emslab-"))
        })
        .collect()
}

// ---- --output (item 2, item 13) ----

#[cfg(unix)]
#[test]
fn output_onto_a_symlink_is_refused_and_the_link_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "keep me\n").expect("write");
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let err = input_error(&[
        "ems",
        &shipped("two_factor_mixed.toml"),
        "--output",
        &s(&link),
    ]);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains(&s(&link)), "names the path: {err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("still there")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep me\n");
    assert!(temporaries(dir.path()).is_empty());
}

#[test]
fn output_naming_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let design = dir.path().join("pastes.toml");
    std::fs::copy(common::design_path("pastes.toml"), &design).expect("copy");
    let data = dir.path().join("pastes.csv");
    std::fs::copy(common::design_path("pastes.csv"), &data).expect("copy");
    let design_before = std::fs::read(&design).expect("read");
    let data_before = std::fs::read(&data).expect("read");

    let err = input_error(&["ems", &s(&design), "--output", &s(&design)]);
    assert!(err.contains("input file"), "{err}");
    let err = input_error(&[
        "analyze",
        &s(&design),
        &s(&data),
        "--no-reml",
        "--output",
        &s(&data),
    ]);
    assert!(err.contains("input file"), "{err}");
    // The same file through another name: a relative path and a hard link.
    let relative = dir.path().join(".").join("pastes.toml");
    let err = input_error(&["ems", &s(&design), "--output", &s(&relative)]);
    assert!(err.contains("input file"), "{err}");
    let hard = dir.path().join("hard.csv");
    std::fs::hard_link(&data, &hard).expect("hard link");
    let err = input_error(&[
        "analyze",
        &s(&design),
        &s(&data),
        "--no-reml",
        "-o",
        &s(&hard),
    ]);
    assert!(err.contains("input file"), "{err}");
    let err = input_error(&[
        "simulate",
        &s(&design),
        "--sigma2",
        "Residual=1",
        "--output",
        &s(&design),
    ]);
    assert!(err.contains("input file"), "{err}");
    assert_eq!(std::fs::read(&design).expect("read"), design_before);
    assert_eq!(std::fs::read(&data).expect("read"), data_before);
}

#[test]
fn output_naming_the_summary_table_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let table = dir.path().join("summary.csv");
    std::fs::copy(common::design_path("pigment_paste_summary.csv"), &table).expect("copy");
    let before = std::fs::read(&table).expect("read");
    let err = input_error(&[
        "analyze",
        &shipped("pigment_paste.toml"),
        "--summary",
        &s(&table),
        "--output",
        &s(&table),
    ]);
    assert!(err.contains("input file"), "{err}");
    assert_eq!(std::fs::read(&table).expect("read"), before);
}

#[test]
fn output_onto_a_directory_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let err = input_error(&[
        "ems",
        &shipped("two_factor_mixed.toml"),
        "--output",
        &s(dir.path()),
    ]);
    assert!(err.contains("directory"), "{err}");
}

#[cfg(unix)]
#[test]
fn output_into_a_fifo_is_written_through() {
    let dir = tempfile::tempdir().expect("dir");
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|st| st.success()) {
        eprintln!("no mkfifo: skipped");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read fifo"))
    };
    let o = emslab(&[
        "ems",
        &shipped("two_factor_mixed.toml"),
        "--format",
        "csv",
        "--output",
        &s(&fifo),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Checked before joining the reader: a FIFO replaced by a file would leave the reader
    // waiting for a writer forever.
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .expect("still there")
            .file_type()
            .is_fifo(),
        "the FIFO is not replaced by a file"
    );
    let got = reader.join().expect("reader");
    assert!(got.contains("Expected mean squares"), "{got}");
    assert!(temporaries(dir.path()).is_empty());
}

// Linux: /proc takes no new files. The message names the target and the folder, not the
// temporary file that could not be created.
#[cfg(target_os = "linux")]
#[test]
fn output_where_no_file_can_be_created_names_the_target() {
    let err = input_error(&[
        "ems",
        &shipped("two_factor_mixed.toml"),
        "--output",
        "/proc/version",
    ]);
    assert!(err.contains("/proc/version"), "{err}");
    assert!(!err.contains(".emslab-"), "no temporary path: {err}");
    assert!(err.contains("cannot create a file in /proc"), "{err}");
}

// ---- signals (item 4) ----

/// Starts a long `simulate --output`, waits for its temporary file, sends `signal`, and
/// checks that the process ended and left neither the temporary file nor the target.
#[cfg(unix)]
fn killed_simulate_leaves_nothing(signal: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("big.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args([
            "simulate",
            &shipped("pastes.toml"),
            "--sigma2",
            "batch=1",
            "cask(batch)=1",
            "Residual=1",
            "--levels",
            "batch=100000000",
            "--output",
            &s(&out),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = std::time::Instant::now();
    while temporaries(dir.path()).is_empty() {
        assert!(start.elapsed().as_secs() < 60, "no temporary file appeared");
        if let Some(st) = child.try_wait().expect("wait") {
            panic!("simulate ended early: {st}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Let it write a little.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args([signal, pid.as_str()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = child.wait().expect("wait");
    assert!(!status.success(), "ended by the signal: {status}");
    assert!(
        temporaries(dir.path()).is_empty(),
        "left behind: {:?}",
        temporaries(dir.path())
    );
    assert!(!out.exists(), "no half-written target");
}

#[cfg(unix)]
#[test]
fn sigterm_during_simulate_removes_the_temporary_file() {
    killed_simulate_leaves_nothing("-TERM");
}

#[cfg(unix)]
#[test]
fn sigint_during_simulate_removes_the_temporary_file() {
    killed_simulate_leaves_nothing("-INT");
}

// ---- simulate arguments (items 5, 6, 9) ----

#[test]
fn simulate_decimals_out_of_range_is_refused_with_the_range() {
    let design = shipped("pastes.toml");
    // An argument error: clap's message (with its usage hint), exit status 2.
    let o = emslab(&[
        "simulate",
        &design,
        "--sigma2",
        "Residual=1",
        "--decimals",
        "65536",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("from 0 to 30"), "{err}");
    let o = emslab(&[
        "simulate",
        &design,
        "--sigma2",
        "Residual=1",
        "--decimals",
        "30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let first = text.lines().nth(1).expect("a row");
    let y = first.rsplit(',').next().expect("response");
    assert_eq!(y.split('.').nth(1).map(str::len), Some(30), "{first}");
}

#[test]
fn simulate_refuses_non_finite_mean_and_effects() {
    let design = shipped("machines.toml");
    for mean in ["nan", "inf", "-inf", "NaN"] {
        let arg = format!("--mean={mean}");
        let err = input_error(&["simulate", &design, "--sigma2", "Residual=1", &arg]);
        assert!(err.contains("finite"), "{mean}: {err}");
    }
    let err = input_error(&[
        "simulate",
        &design,
        "--sigma2",
        "Residual=1",
        "--effect",
        "Machine=1,nan,2",
    ]);
    assert!(err.contains("effect 2 of `Machine`"), "{err}");
    assert!(err.contains("finite"), "{err}");
    let err = input_error(&[
        "simulate",
        &design,
        "--sigma2",
        "Residual=1",
        "--effect",
        "Machine=1e308,0,0",
        "--mean=1.7e308",
    ]);
    assert!(err.contains("overflow"), "{err}");
}

// A factor of 10^9 levels: the first rows come at once and memory stays small (the labels
// are written as they are generated).
#[cfg(target_os = "linux")]
#[test]
fn simulate_with_a_billion_levels_streams_in_small_memory() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args([
            "simulate",
            &shipped("pastes.toml"),
            "--sigma2",
            "batch=1",
            "Residual=1",
            "--levels",
            "batch=1000000000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let header = lines.next().expect("header").expect("text");
    assert_eq!(header, "batch,cask,strength");
    for _ in 0..1000 {
        lines.next().expect("row").expect("text");
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    let _ = child.kill();
    let _ = child.wait();
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    assert!(hwm_kb < 100_000, "peak memory {hwm_kb} kB");
}

// ---- design files (items 8, 11, 13) ----

fn design_file(dir: &Path, name: &str, text: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    s(&p)
}

const TWO_FACTORS: &str = "replicates = 2\n[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 2\n[[factors]]\nname = \"B\"\nkind = \"random\"\nlevels = 3\n";

#[test]
fn reserved_factor_names_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    for name in [
        "Residual", "residual", "RESIDUAL", "Error", "Within", "Total",
    ] {
        let text = TWO_FACTORS.replace("name = \"B\"", &format!("name = \"{name}\""));
        let path = design_file(dir.path(), "d.toml", text.as_bytes());
        let err = input_error(&["ems", &path]);
        assert!(err.contains("factors[1]"), "{err}");
        assert!(err.contains("reserved"), "{name}: {err}");
        assert!(err.contains(&path), "{err}");
    }
}

#[test]
fn a_design_file_that_is_not_utf8_gets_a_line_and_column() {
    let dir = tempfile::tempdir().expect("dir");
    // Latin-1 é in the title on line 2.
    let mut text = b"replicates = 2\ntitle = \"caf".to_vec();
    text.push(0xE9);
    text.extend_from_slice(b"\"\n[[factors]]\nname = \"A\"\nkind = \"fixed\"\nlevels = 2\n");
    let path = design_file(dir.path(), "latin1.toml", &text);
    let err = input_error(&["ems", &path]);
    assert!(err.contains("line 2, column 13"), "{err}");
    assert!(err.contains("0xE9"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");

    let utf16: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain(TWO_FACTORS.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    let path = design_file(dir.path(), "utf16.toml", &utf16);
    let err = input_error(&["ems", &path]);
    assert!(err.contains("UTF-16"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    // Without a byte-order mark.
    let bare: Vec<u8> = TWO_FACTORS
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let path = design_file(dir.path(), "utf16le.toml", &bare);
    let err = input_error(&["ems", &path]);
    assert!(err.contains("UTF-16"), "{err}");

    // A UTF-8 byte-order mark is accepted.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(TWO_FACTORS.as_bytes());
    let path = design_file(dir.path(), "bom.toml", &bom);
    let o = emslab(&["ems", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn empty_factor_names_in_terms_say_what_is_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    for term in ["A:", ":B", "A::B", "B(A,)", "B()", ""] {
        let text = format!("terms = [\"A\", \"{term}\"]\n{TWO_FACTORS}");
        let path = design_file(dir.path(), "d.toml", text.as_bytes());
        let err = input_error(&["ems", &path]);
        assert!(err.contains("terms[1]"), "{term}: {err}");
        assert!(!err.contains("unknown factor ``"), "{term}: {err}");
        assert!(
            err.contains("a factor name is missing") || err.contains("the term is empty"),
            "{term}: {err}"
        );
    }
}

#[test]
fn gui_with_a_bad_design_exits_2_before_any_window() {
    let dir = tempfile::tempdir().expect("dir");
    let text = TWO_FACTORS.replace("levels = 3", "levels = 1");
    let path = design_file(dir.path(), "bad.toml", text.as_bytes());
    let o = Command::new(env!("CARGO_BIN_EXE_emslab"))
        .args(["gui", &path])
        // No display: if a window were attempted the message would be about the display.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("runs");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&path), "{err}");
    assert!(err.contains("at least 2 levels"), "{err}");
}

// ---- size limit (item 7) ----

fn crossed_toml(k: usize) -> String {
    let mut s = String::from("replicates = 2\n");
    for i in 0..k {
        let kind = if i % 2 == 0 { "fixed" } else { "random" };
        s.push_str(&format!(
            "[[factors]]\nname = \"F{i}\"\nkind = \"{kind}\"\nlevels = 2\n"
        ));
    }
    s
}

// 40 crossed factors allow 2^40 - 1 terms: refused at once with that number, never an
// abort on memory or an unbounded run.
#[test]
fn too_many_terms_are_refused_with_their_number() {
    let dir = tempfile::tempdir().expect("dir");
    let path = design_file(dir.path(), "big.toml", crossed_toml(40).as_bytes());
    let start = std::time::Instant::now();
    let err = input_error(&["ems", &path, "--model", "unrestricted"]);
    assert!(start.elapsed().as_secs() < 10);
    assert!(err.contains("1,099,511,627,775 terms"), "{err}");
    assert!(err.contains("limit of 4,096"), "{err}");
    assert!(err.contains("--max-terms"), "{err}");
    let path = design_file(dir.path(), "13.toml", crossed_toml(13).as_bytes());
    let err = input_error(&["ems", &path]);
    assert!(err.contains("8,191 terms"), "{err}");
    let err = input_error(&["analyze", &path, &path, "--max-terms", "100"]);
    assert!(err.contains("limit of 100"), "{err}");
}

#[test]
fn max_terms_raises_the_limit() {
    use emslab::design::{DesignError, DesignSpec, TermCount};
    let spec = DesignSpec::from_toml_str(&crossed_toml(13)).expect("parses");
    let d = emslab::Design::from_spec(spec.clone(), 8191).expect("within the limit");
    assert_eq!(d.terms.len(), 8191);
    match emslab::Design::from_spec(spec, 8190) {
        Err(DesignError::TooManyTerms { count, limit }) => {
            assert_eq!(count, TermCount::Exactly(8191));
            assert_eq!(limit, 8190);
        }
        other => panic!("{other:?}"),
    }
    // A factor nested in two others: counted only up to the limit.
    let mut text = crossed_toml(20);
    text.push_str(
        "[[factors]]\nname = \"N\"\nkind = \"random\"\nlevels = 2\nnested_in = [\"F0\", \"F1\"]\n",
    );
    let spec = DesignSpec::from_toml_str(&text).expect("parses");
    match emslab::Design::from_spec(spec, 4096) {
        Err(DesignError::TooManyTerms { count, .. }) => {
            assert_eq!(count, TermCount::MoreThan(4096));
        }
        other => panic!("{other:?}"),
    }
}

// ---- output checks without writing (item 2) ----

#[cfg(unix)]
#[test]
fn devices_are_refused_before_anything_is_written() {
    use emslab::io::{BadTarget, FileError, check_output};
    for dev in ["/dev/null", "/dev/zero", "/dev/full"] {
        match check_output(Path::new(dev), &[]) {
            Err(FileError::BadTarget { problem, .. }) => assert_eq!(problem, BadTarget::Device),
            other => panic!("{dev}: {other:?}"),
        }
    }
}
