//! `VM.Gather`: the VM's Prometheus metrics in the client_model messages the host expects.
//!
//! The `prometheus` crate is built without its protobuf feature, so its gathered families are
//! plain structs; this copies them field by field into the generated
//! `io.prometheus.client.MetricFamily`. Names stay unprefixed: the host adds the chain prefix.

use crate::pb::io::prometheus::client as wire;
use prometheus::proto as model;

/// Converts gathered metric families to their wire form.
pub(crate) fn metric_families(families: &[model::MetricFamily]) -> Vec<wire::MetricFamily> {
    families.iter().map(family).collect()
}

fn family(f: &model::MetricFamily) -> wire::MetricFamily {
    let kind = f.get_field_type();
    wire::MetricFamily {
        name: Some(f.name().to_string()),
        help: Some(f.help().to_string()),
        r#type: Some(metric_type(kind) as i32),
        metric: f.get_metric().iter().map(|m| metric(m, kind)).collect(),
    }
}

fn metric_type(kind: model::MetricType) -> wire::MetricType {
    match kind {
        model::MetricType::COUNTER => wire::MetricType::Counter,
        model::MetricType::GAUGE => wire::MetricType::Gauge,
        model::MetricType::SUMMARY => wire::MetricType::Summary,
        model::MetricType::UNTYPED => wire::MetricType::Untyped,
        model::MetricType::HISTOGRAM => wire::MetricType::Histogram,
    }
}

fn metric(m: &model::Metric, kind: model::MetricType) -> wire::Metric {
    let mut out = wire::Metric {
        label: m
            .get_label()
            .iter()
            .map(|l| wire::LabelPair {
                name: Some(l.name().to_string()),
                value: Some(l.value().to_string()),
            })
            .collect(),
        timestamp_ms: (m.timestamp_ms() != 0).then(|| m.timestamp_ms()),
        ..Default::default()
    };
    match kind {
        model::MetricType::COUNTER => {
            out.counter = Some(wire::Counter {
                value: Some(m.get_counter().get_value()),
                exemplar: None,
            })
        }
        model::MetricType::GAUGE => {
            out.gauge = Some(wire::Gauge {
                value: Some(m.get_gauge().get_value()),
            })
        }
        model::MetricType::SUMMARY => {
            let s = m.get_summary();
            out.summary = Some(wire::Summary {
                sample_count: Some(s.sample_count()),
                sample_sum: Some(s.sample_sum()),
                quantile: s
                    .get_quantile()
                    .iter()
                    .map(|q| wire::Quantile {
                        quantile: Some(q.quantile()),
                        value: Some(q.value()),
                    })
                    .collect(),
            })
        }
        model::MetricType::UNTYPED => {
            #[allow(deprecated)] // the only accessor the plain model offers
            let value = m.get_untyped().get_value();
            out.untyped = Some(wire::Untyped { value: Some(value) })
        }
        model::MetricType::HISTOGRAM => {
            let h = m.get_histogram();
            out.histogram = Some(wire::Histogram {
                sample_count: Some(h.get_sample_count()),
                sample_sum: Some(h.get_sample_sum()),
                bucket: h
                    .get_bucket()
                    .iter()
                    .map(|b| wire::Bucket {
                        cumulative_count: Some(b.cumulative_count()),
                        upper_bound: Some(b.upper_bound()),
                        exemplar: None,
                        cumulative_count_float: None,
                    })
                    .collect(),
                sample_count_float: None,
            })
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn every_kind_converts() {
        let metrics = Metrics::new();
        metrics.blocks_built.inc();
        metrics.mempool_size.set(7);
        metrics.txs_admitted.with_label_values(&["api"]).inc_by(3);
        metrics.verify_seconds.observe(0.002);
        let families = metric_families(&metrics.gather());
        let find = |name: &str| {
            families
                .iter()
                .find(|f| f.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} missing"))
        };

        let built = find("blocks_built");
        assert_eq!(built.r#type, Some(wire::MetricType::Counter as i32));
        assert_eq!(built.metric[0].counter.as_ref().unwrap().value, Some(1.0));

        let size = find("mempool_size");
        assert_eq!(size.metric[0].gauge.as_ref().unwrap().value, Some(7.0));

        let admitted = find("txs_admitted");
        let label = &admitted.metric[0].label[0];
        assert_eq!(
            (label.name.as_deref(), label.value.as_deref()),
            (Some("source"), Some("api"))
        );

        let verify = find("block_verify_seconds");
        assert_eq!(verify.r#type, Some(wire::MetricType::Histogram as i32));
        let h = verify.metric[0].histogram.as_ref().unwrap();
        assert_eq!(h.sample_count, Some(1));
        assert!(h.bucket.len() >= 10);
        let last = h.bucket.last().unwrap();
        assert_eq!(last.cumulative_count, Some(1));
        assert!(find("block_verify_seconds")
            .help
            .as_deref()
            .unwrap()
            .contains("verify"));
    }
}
