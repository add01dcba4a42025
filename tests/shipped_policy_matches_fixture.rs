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
    // The same forward pass to float tolerance, as the browser test holds it: gemm
    // blocks a matrix product by the CPU's cache sizes, so the last bits of a product
    // differ between CPUs (an AMD EPYC's against the machine that wrote the fixture).
    for (want, got) in stored.iter().zip(&actions) {
        assert!(want.iter().zip(got).all(|(w, g)| (w - g).abs() < 1e-5), "native {got:?} vs the fixture's {want:?}");
    }
    assert_eq!(stored.len(), actions.len());
}

/// Whether this machine's forward pass is, to the bit, the one that wrote the fixture
/// (and the shipped assessment): rollouts then reproduce the file exactly.
fn acts_as_the_fixture(policy: &amf_studio::policy::Policy) -> bool {
    let observations: Vec<_> = TaskId::ALL.iter().map(|&t| Episode::new(t, 5).observation()).collect();
    let stored: Vec<[f32; 4]> = serde_json::from_str(&std::fs::read_to_string(FIXTURE_PATH).unwrap()).unwrap();
    stored == policy.act(&observations)
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
    assert_eq!(&quick.assessment, known, "a start with the file takes its assessment");
    let proposed = quick.selection.expect("a first proposal");
    assert!(!proposed.picks.is_empty());
    if acts_as_the_fixture(&policy) {
        assert_eq!(&fresh.assessment, known, "the shipped assessment is not what the rollouts give");
        assert_eq!(Some(proposed), fresh.selection);
    } else {
        // Another CPU's last bits send the rollouts elsewhere (contacts amplify them),
        // so only the success they measure can be compared, as two draws of the same
        // policy's: ten episodes a task (an AMD EPYC moved window_close by four of ten
        // and one other task by two), the sixteen tasks' mean within 0.05. Another
        // policy, or the file of one, is far outside both.
        let differences: Vec<f64> = fresh.assessment.per_task.iter().zip(&known.per_task).map(|(f, k)| (f - k).abs()).collect();
        eprintln!("this CPU's forward pass differs from the fixture's in its last bits; success per task differs by {differences:?}");
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(differences.iter().all(|d| *d <= 0.5 + 1e-9), "the shipped assessment is far from what the rollouts give: {differences:?}");
        assert!((mean(&fresh.assessment.per_task) - mean(&known.per_task)).abs() <= 0.05, "{differences:?}");
    }
}
