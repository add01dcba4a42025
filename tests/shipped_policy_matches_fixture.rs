//! Proves the shipped policy file acts as recorded in the fixture that the browser test
//! compares against (so both check the same forward pass). Regenerate with
//! `UPDATE_FIXTURES=1 cargo test --test shipped_policy_matches_fixture` after `amf pretrain`.

use amf_studio::policy::{Actor, Checkpoint};
use amf_studio::tasks::{Episode, TaskId};

const POLICY: &[u8] = include_bytes!("../www/policy.amfp");
const FIXTURE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy_actions.json");

#[test]
fn shipped_policy_actions_match_the_fixture() {
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(POLICY).unwrap() else {
        panic!("the shipped policy is not a pre-trained one");
    };
    let observations: Vec<_> = TaskId::ALL.iter().map(|&t| Episode::new(t, 5).observation()).collect();
    let actions = policy.act(&observations);
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(FIXTURE_PATH, serde_json::to_string(&actions).unwrap() + "\n").unwrap();
    }
    let stored: Vec<[f32; 4]> = serde_json::from_str(&std::fs::read_to_string(FIXTURE_PATH).unwrap()).unwrap();
    assert_eq!(stored, actions);
}
