//! `whyblocked`: glue only. The library parses, reads, simulates and renders; this file
//! maps the result to the exit code, in one place.

use std::io::{self, Write};
use std::process::ExitCode;
use whyblocked_cli::{args::json_requested, run_from_args, Conclusion, Error};

fn main() -> ExitCode {
    let stdout = io::stdout();
    let mut out = Counted {
        inner: io::BufWriter::new(stdout.lock()),
        written: 0,
    };
    let argv: Vec<_> = std::env::args_os().collect();
    let json = json_requested(&argv);
    let result = run_from_args(argv, &mut out);
    let code = match result {
        Ok(Conclusion::Passed) => 0,
        Ok(Conclusion::Blocked) => 1,
        Ok(Conclusion::Undecided) => 3,
        Ok(Conclusion::KernelAgrees) => 0,
        Ok(Conclusion::KernelDisagrees) => 1,
        Ok(Conclusion::Done) => 0,
        // `| head` closed the pipe: nothing to say.
        Err(e) if e.is_broken_pipe() => 0,
        // --help and --version are not errors; clap prints them to stdout.
        Err(Error::Usage(e)) if !e.use_stderr() => {
            let _ = e.print();
            0
        }
        // Under --json the error is also JSON on stdout, for the script reading it, unless
        // the command's own JSON document is there already and tells it (`pcap`'s
        // `stopped_by`): stdout stays one document.
        Err(e) => {
            let _ = out.flush();
            let _ = e.render(&mut io::stderr().lock());
            if json && out.written == 0 {
                let _ = e.render_json(&mut out, 2).and_then(|()| out.flush());
            }
            2
        }
    };
    ExitCode::from(code)
}

/// stdout, counting what the command wrote to it.
struct Counted<W: Write> {
    inner: W,
    written: usize,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
