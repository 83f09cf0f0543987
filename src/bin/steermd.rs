//! The `steermd` command-line tool.

fn main() {
    println!("steermd {}", steermd::VERSION);
}
