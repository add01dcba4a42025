//! Proves the shipped policy file acts as recorded in the fixture that the browser test
//! compares against (so both check the same forward pass), and that the assessment and
//! the first proposals shipped beside it are its own. Regenerate with
//! `UPDATE_FIXTURES=1 cargo test --test shipped_policy_matches_fixture` after `amf pretrain`
//! (which writes the assessment and the proposals too; `amf assess` writes them alone).

use amf_studio::assessment::{policy_digest, AssessmentFile};
use amf_studio::opening::Openings;
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

/// The shipped first proposals are the selector's for their seeds (with the page's
/// default settings, from the shipped assessment): a page that reads them proposes what
/// its training worker would have for the session's seed.
#[test]
fn the_shipped_first_proposals_are_the_selectors_for_their_seeds() {
    let Checkpoint::Pretrained { policy, .. } = Checkpoint::from_bytes(POLICY).unwrap() else {
        panic!("the shipped policy is not a pre-trained one");
    };
    let openings = Openings::from_json(include_bytes!("../www/policy.openings.json"), &policy_digest(POLICY))
        .unwrap_or_else(|error| panic!("www/policy.openings.json is not the shipped policy's ({error}): run `amf assess`"));
    let config = SessionSettings::default().round_config();
    assert_eq!(openings.config, config, "the proposals are not for the page's default settings: run `amf assess`");
    let shipped = AssessmentFile::from_bytes(include_bytes!("../www/policy.amfa")).unwrap();
    let known = shipped.for_rollouts(&policy_digest(POLICY), config.eval_episodes).unwrap();
    assert_eq!(openings.per_task, known.per_task, "the first curve point is the shipped assessment's");
    let exact = acts_as_the_fixture(&policy);
    let seeds: Vec<u64> = openings.openings.iter().map(|o| o.seed).collect();
    let fresh = Openings::compute(POLICY, &policy, config, known, seeds).unwrap();
    for (shipped, fresh) in openings.openings.iter().zip(&fresh.openings) {
        let (want, got) = (&shipped.selection, &fresh.selection);
        if exact {
            assert_eq!(got, want, "seed {}", shipped.seed);
        } else {
            // Another CPU's last bits move the gains in their last digits (the states
            // the selector draws are the seed's alike): the same picks, the same gains
            // to float tolerance.
            assert_eq!(got.picks, want.picks, "seed {}", shipped.seed);
            for (g, w) in got.scores.iter().zip(&want.scores) {
                assert!((g.score - w.score).abs() <= 1e-6 * w.score.abs().max(1e-3), "seed {}: {g:?} vs {w:?}", shipped.seed);
            }
        }
    }
    let distinct: std::collections::BTreeSet<&Vec<usize>> = openings.openings.iter().map(|o| &o.selection.picks).collect();
    eprintln!("{} seeds' first proposals, {} distinct", openings.openings.len(), distinct.len());
}
