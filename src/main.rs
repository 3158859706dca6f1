use std::process::ExitCode;

fn main() -> ExitCode {
    helm_retarget::run()
}
