//! `reproduce` walks once (issue 29, item 3): each channel's data are prepared once for
//! the training and the scoring of all its models, and the run's pins are measured once
//! (`claims check` keeps its own re-load and re-measurement: that independence is the
//! point of the check). The quick profile's smoke with two models per channel, in process,
//! so the library's counters can be read; one test in this file, so no other test moves
//! them.

use sarxai::attr::Method;
use sarxai::device::DeviceChoice;
use sarxai::reproduce::{reproduce, ReproduceConfig, ReproduceProfile, StudyEvent};
use sarxai::score::selection::Selection;
use sarxai::train::datasets_prepared;
use sarxai::verify::pins_measured;

#[test]
fn reproduce_prepares_each_channels_data_once_and_measures_pins_once() {
    let out = tempfile::tempdir().unwrap();
    let cfg = ReproduceConfig {
        profile: ReproduceProfile::Quick,
        smoke: true,
        data: None,
        format: None,
        archive: Default::default(),
        device: DeviceChoice::Cpu,
        threads: None,
        out: out.path().join("run"),
        selection: Selection::Stratified {
            per_class: 1,
            seed: 0,
            correct_only: false,
            at_most: false,
        },
        methods: vec![Method::Saliency, Method::GradCam],
        arch: None,
        channel_name: None,
        range_axis: None,
        replicates: 2,
    };
    let (loads, pins) = (datasets_prepared(), pins_measured());
    let mut stages = Vec::new();
    let mut events = |e: StudyEvent<'_>| {
        if let StudyEvent::Stage(s) = e {
            stages.push(s.to_string());
        }
    };
    let outcome = reproduce(&cfg, &mut events).unwrap();
    assert_eq!(outcome.results.units(), ["vh", "vh-r1", "vv", "vv-r1"]);
    let trained = stages.iter().filter(|s| s.starts_with("train ")).count();
    assert_eq!(trained, 4, "{stages:?}");
    assert_eq!(
        datasets_prepared() - loads,
        2,
        "four models of two channels: the data of each channel prepared once"
    );
    assert_eq!(pins_measured() - pins, 1, "the run's pins measured once");
}
