// The collection service embeds its migrations (`sqlx::migrate!`), which does not see a
// new migration file by itself: rebuild when the folder changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
