//! Stage 2 of scoring, the per-image work: each explained image on the model's device, each
//! method's attribution of it and every metric of the run on that attribution, appended to
//! `per_image.csv` and `timings.csv` one image at a time; Figure 1 of the figure image
//! ([`super::figure_image`]) when it is among the positions scored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use tch::Tensor;

use super::{files, image_seed, MethodTiming, Plan, ScoreConfig, ScoreData, TargetChoice};
use crate::attr::{Attribution, Method};
use crate::model::ResNet;
use crate::score::metric::{Explained, Metric, MetricSettings, ModelInputs, Randomised};
use crate::score::records::{self, ImageRecord};
use crate::score::ScoreError;

/// What [`score_images`] did.
pub struct Scored {
    /// Image x method pairs computed in this call.
    pub computed_pairs: usize,
    /// Mean seconds per image and method of this session.
    pub timings: BTreeMap<Method, MethodTiming>,
    /// Figure 1's encoder sweep summary, when the figure image was among the positions.
    pub entropy_settings: Option<serde_json::Value>,
}

/// Stage 2: scores the images at `positions` of the plan's selection (pairs in `done`
/// skipped), appending to `per_image.csv` and `timings.csv` one image at a time, then,
/// when the figure image is among them, writes Figure 1 and `entropy_settings.csv`.
pub fn score_images(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    plan: &Plan,
    positions: &[usize],
    done: &BTreeSet<(usize, Method)>,
    out_dir: &Path,
) -> Result<Scored, ScoreError> {
    let metrics = &plan.metrics;
    let ctx = Ctx {
        cfg,
        model,
        data,
        metrics,
        settings: cfg.metric_settings(),
        randomised: Randomised::of(model, metrics, cfg.randomisation_seed)?,
    };
    let attributors: BTreeMap<Method, Box<dyn Attribution>> = plan
        .methods
        .iter()
        .map(|&m| (m, m.with_defaults(cfg.budget)))
        .collect();
    let (computed_pairs, timings) =
        ctx.score_positions(plan, positions, done, &attributors, out_dir)?;
    let entropy_settings = if positions.contains(&plan.figure_position) {
        let i = plan.chosen[plan.figure_position];
        let all: Vec<ImageRecord> = records::read(&out_dir.join(files::PER_IMAGE))?
            .records
            .into_iter()
            .filter(|r| r.image == i)
            .collect();
        Some(ctx.figure_and_sweep(
            &attributors,
            &plan.methods,
            &all,
            i,
            &plan.meta.model_hash,
            out_dir,
        )?)
    } else {
        None
    };
    Ok(Scored {
        computed_pairs,
        timings,
        entropy_settings,
    })
}

/// The paper's metrics of one (image, method) pair recomputed exactly as [`super::score`]
/// computed them under `cfg` (attribution, both Max-Sensitivities with the image's own noise
/// seed, XAI entropy): what `sarxai claims check --recompute` compares with `per_image.csv`.
pub fn rescore_pair(
    cfg: &ScoreConfig,
    model: &ResNet,
    data: &ScoreData,
    image: usize,
    method: Method,
) -> Result<BTreeMap<Metric, f64>, ScoreError> {
    let metrics = Metric::PAPER;
    let ctx = Ctx {
        cfg,
        model,
        data,
        metrics: &metrics,
        settings: cfg.metric_settings(),
        randomised: Randomised::default(),
    };
    let img = ctx.image(image)?;
    let attributor = method.with_defaults(cfg.budget);
    Ok(ctx.score_pair(&img, attributor.as_ref())?.0)
}

/// One image on the model's device.
pub(super) struct Img {
    pub(super) x: Tensor,
    pub(super) t: Tensor,
    pub(super) label: i64,
    pub(super) predicted: i64,
    pub(super) target: i64,
    index: usize,
}

/// Seconds one pair took: its attribution and each metric.
#[derive(Default)]
struct Secs {
    attribution: f64,
    metrics: BTreeMap<Metric, f64>,
}

/// What scoring an image needs: the settings, the model (and its randomised copies for the
/// MPRT metrics), the data and the metric columns.
pub(super) struct Ctx<'a> {
    pub(super) cfg: &'a ScoreConfig,
    pub(super) model: &'a ResNet,
    pub(super) data: &'a ScoreData<'a>,
    metrics: &'a [Metric],
    settings: MetricSettings,
    randomised: Randomised,
}

impl Ctx<'_> {
    /// Test image `i` on the model's device, with its label, the model's prediction and the
    /// explained class.
    pub(super) fn image(&self, i: usize) -> Result<Img, ScoreError> {
        let split = self.data.split;
        let device = self.model.device();
        let x = crate::train::eval::input_tensor(
            split.image(i),
            split.size,
            self.model.config.in_channels,
            device,
        );
        let logits = tch::no_grad(|| self.model.forward_t(&x, false));
        let predicted = logits.argmax(1, false).int64_value(&[0]);
        let label = split.labels[i];
        let target = match self.cfg.target {
            TargetChoice::TrueLabel => label,
            TargetChoice::Predicted => predicted,
        };
        let t = Tensor::from_slice(&[target]).to_device(device);
        Ok(Img {
            x,
            t,
            label,
            predicted,
            target,
            index: i,
        })
    }

    /// Scores `positions` of the plan's selection (pairs in `done` skipped), appending each
    /// image's rows to `per_image.csv` and `timings.csv`. Returns the pairs computed and
    /// the mean seconds per image and method.
    fn score_positions(
        &self,
        plan: &Plan,
        positions: &[usize],
        done: &BTreeSet<(usize, Method)>,
        attributors: &BTreeMap<Method, Box<dyn Attribution>>,
        out_dir: &Path,
    ) -> Result<(usize, BTreeMap<Method, MethodTiming>), ScoreError> {
        let (per_image, timings_path) =
            (out_dir.join(files::PER_IMAGE), out_dir.join(files::TIMINGS));
        let todo_of = |i: usize| -> Vec<Method> {
            plan.methods
                .iter()
                .copied()
                .filter(|&m| !done.contains(&(i, m)))
                .collect()
        };
        let pending: usize = positions
            .iter()
            .map(|&p| todo_of(plan.chosen[p]).len())
            .sum();
        let bar = if self.cfg.progress {
            crate::progress::bar(pending as u64, "score")
        } else {
            indicatif::ProgressBar::hidden()
        };
        let n = plan.chosen.len();
        let mut timings: BTreeMap<Method, MethodTiming> = BTreeMap::new();
        let mut computed_pairs = 0;
        let device_desc = crate::device::describe(self.model.device());
        for &position in positions {
            let i = plan.chosen[position];
            let todo = todo_of(i);
            if todo.is_empty() {
                continue;
            }
            let img = self.image(i)?;
            let (mut rows, mut trows) = (String::new(), String::new());
            for m in todo {
                bar.set_message(format!("image {}/{n} {}", position + 1, m.name()));
                let (values, secs) = self.score_pair_of(&img, m, attributors[&m].as_ref())?;
                let rec = self.record(&img, m, values, &plan.meta.model_hash);
                rows.push_str(&rec.to_csv_row(self.metrics));
                trows.push_str(&self.timings_row(i, m, &secs, &device_desc));
                timings.entry(m).or_default().add(&secs);
                computed_pairs += 1;
                bar.inc(1);
            }
            records::append(&per_image, &rows)?;
            records::append(&timings_path, &trows)?;
            crate::interrupt::check(|| {
                format!(
                    "after image {} of {n}: the rows of every finished image kept in {}",
                    position + 1,
                    per_image.display()
                )
            })?;
        }
        bar.finish_and_clear();
        timings.values_mut().for_each(MethodTiming::average);
        Ok((computed_pairs, timings))
    }

    /// [`Ctx::score_pair`] with its error naming the image and the method.
    fn score_pair_of(
        &self,
        img: &Img,
        m: Method,
        method: &dyn Attribution,
    ) -> Result<(BTreeMap<Metric, f64>, Secs), ScoreError> {
        self.score_pair(img, method)
            .map_err(|e| ScoreError::Scoring {
                image: img.index,
                member: self.data.split.members[img.index].clone(),
                method: m,
                source: Box::new(e),
            })
    }

    /// The `per_image.csv` record of `img` explained by `m` with metric `values`.
    fn record(
        &self,
        img: &Img,
        m: Method,
        values: BTreeMap<Metric, f64>,
        hash: &str,
    ) -> ImageRecord {
        let (i, classes) = (img.index, self.data.classes);
        ImageRecord {
            image: i,
            member: self.data.split.members[i].clone(),
            file: self.file_of(i),
            label: img.label,
            label_name: classes[img.label as usize].clone(),
            predicted: img.predicted,
            predicted_name: classes[img.predicted as usize].clone(),
            target: img.target,
            method: m,
            values,
            model_hash: hash.to_string(),
        }
    }

    /// The `timings.csv` row of image `i` and method `m`: attribution, each metric and total
    /// seconds, and the device.
    fn timings_row(&self, i: usize, m: Method, secs: &Secs, device_desc: &str) -> String {
        format!(
            "{i},{},{},{},{},{}\n",
            m.name(),
            secs.attribution,
            self.metrics
                .iter()
                .map(|k| secs.metrics.get(k).copied().unwrap_or(0.0).to_string())
                .collect::<Vec<_>>()
                .join(","),
            secs.total(),
            records::field(device_desc)
        )
    }

    /// Test image `i`'s file, relative to the data directory where it lies under it.
    fn file_of(&self, i: usize) -> String {
        let Some(f) = self.data.split.files.get(i) else {
            return String::new();
        };
        self.data
            .root
            .and_then(|r| f.strip_prefix(r).ok())
            .unwrap_or(f)
            .display()
            .to_string()
    }

    /// Scores one (image, method) pair: the attribution, then every metric column on it
    /// ([`Metric::values`] of a batch of one), each timed.
    fn score_pair(
        &self,
        img: &Img,
        method: &dyn Attribution,
    ) -> Result<(BTreeMap<Metric, f64>, Secs), ScoreError> {
        let mut secs = Secs::default();
        let t0 = Instant::now();
        let a = method.attribute(self.model, &img.x, &img.t)?.detach();
        secs.attribution = t0.elapsed().as_secs_f64();
        let e = self.explained(img, method, &a)?;
        let mut values = BTreeMap::new();
        for &k in self.metrics {
            let t0 = Instant::now();
            let v = k.values(&e)?[0];
            secs.metrics.insert(k, t0.elapsed().as_secs_f64());
            values.insert(k, v);
        }
        Ok((values, secs))
    }

    /// The attribution `a` of `img` by `method`, with what the metrics take: the image's
    /// noise seed ([`image_seed`]), its mask when a metric needs it, the model and its input.
    fn explained<'b>(
        &'b self,
        img: &'b Img,
        method: &'b dyn Attribution,
        a: &'b Tensor,
    ) -> Result<Explained<'b>, ScoreError> {
        let size = img.x.size();
        let (h, w) = (size[2], size[3]);
        let seeds = vec![image_seed(self.cfg.seed, img.index)];
        let mut e = Explained::new(a, (h, w), seeds, &self.settings, &self.randomised)?;
        if self.metrics.iter().any(|m| m.needs_masks()) {
            e.masks = (self.data.split.mask(img.index))
                .map(|mask| Tensor::from_slice(mask).view([1, h, w]));
        }
        e.model = Some(ModelInputs {
            model: self.model,
            inputs: &img.x,
            targets: &img.t,
        });
        e.method = Some(method);
        Ok(e)
    }
}

impl Secs {
    /// Everything the pair took.
    fn total(&self) -> f64 {
        self.attribution + self.metrics.values().sum::<f64>()
    }
}

impl MethodTiming {
    /// Adds one pair's seconds.
    fn add(&mut self, secs: &Secs) {
        self.images += 1;
        self.attribution_s += secs.attribution;
        for (k, v) in &secs.metrics {
            *self.metrics_s.entry(*k).or_default() += v;
        }
        self.total_s += secs.total();
    }

    /// Turns the sums into means per image.
    fn average(&mut self) {
        let k = self.images.max(1) as f64;
        self.attribution_s /= k;
        self.total_s /= k;
        for v in self.metrics_s.values_mut() {
            *v /= k;
        }
    }
}
