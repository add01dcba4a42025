//! Proves the shipped policy file acts as recorded in the fixture that the browser test
//! compares against (so both check the same forward pass), and that the assessment
//! shipped beside it is its own. Regenerate with
//! `UPDATE_FIXTURES=1 cargo test --test shipped_policy_matches_fixture` after `amf pretrain`
//! (which writes the assessment too; `amf assess` writes it alone).

use amf_studio::assessment::{policy_digest, AssessmentFile};
use amf_studio::policy::{cpu, Actor, Checkpoint};
use amf_studio::round::RoundJob;
use amf_studio::session::SessionSettings;
use amf_studio::tasks::{Episode, TaskId};
use futures_lite::future::block_on;

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

/// A session's start that reads the shipped assessment proposes what one that rolls the
/// policy out does, and the file is what those rollouts give.
#[test]
fn the_shipped_assessment_is_a_fresh_one_and_the_first_proposal_is_the_same() {
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(POLICY).unwrap() else {
        panic!("the shipped policy is not a pre-trained one");
    };
    let shipped = AssessmentFile::from_bytes(include_bytes!("../www/policy.amfa")).unwrap();
    let config = SessionSettings::default().round_config();
    let known = shipped
        .for_rollouts(&policy_digest(POLICY), config.eval_episodes)
        .unwrap_or_else(|error| panic!("www/policy.amfa is not the shipped policy's ({error}): run `amf assess`"));
    // The rollouts do not depend on the session's seed: one seed's start checks the file
    // for every session's.
    let job = RoundJob { records: vec![], config, seed: 0x5eed, round: 0, resume: None };
    let quick = block_on(job.run(&cpu(), &policy, Some(known), &|| 0.0, &mut |_| {})).unwrap();
    let fresh = block_on(job.run(&cpu(), &policy, None, &|| 0.0, &mut |_| {})).unwrap();
    assert_eq!(&fresh.assessment, known, "the shipped assessment is not what the rollouts give");
    assert_eq!(quick.assessment, fresh.assessment);
    let proposed = quick.selection.expect("a first proposal");
    assert!(!proposed.picks.is_empty());
    assert_eq!(Some(proposed), fresh.selection);
}
