package sightline

import "github.com/prometheus/client_golang/prometheus"

// spoolCollector reports the spool's and the writer's state at scrape time,
// straight from their counters, so the hot path updates no extra metrics.
type spoolCollector struct{ a *App }

var (
	descSpoolBytes    = prometheus.NewDesc("sightline_spool_bytes", "Spool data not yet released into the event store, queued appends included.", nil, nil)
	descSpoolMax      = prometheus.NewDesc("sightline_spool_max_bytes", "The spool's bound; capture answers 503 past it.", nil, nil)
	descSpoolSegments = prometheus.NewDesc("sightline_spool_segments", "Spool segment files on disk.", nil, nil)
	descSpoolRecords  = prometheus.NewDesc("sightline_spool_records_total", "Batches fsync'd to the spool.", nil, nil)
	descSpoolFsyncs   = prometheus.NewDesc("sightline_spool_fsyncs_total", "Spool group commits (one fsync each).", nil, nil)
	descSpoolFull     = prometheus.NewDesc("sightline_spool_full_rejections_total", "Appends refused because the spool was full.", nil, nil)
	descSpoolCorrupt  = prometheus.NewDesc("sightline_spool_corrupt_bytes_total", "Damaged spool bytes stepped over by recovery.", nil, nil)
	descFsyncSeconds  = prometheus.NewDesc("sightline_spool_last_fsync_seconds", "Duration of the latest spool fsync.", nil, nil)
	descWriterEvents  = prometheus.NewDesc("sightline_writer_events_total", "Events appended to the event store.", nil, nil)
	descWriterBatches = prometheus.NewDesc("sightline_writer_batches_total", "Appends to the event store.", nil, nil)
	descWriterErrors  = prometheus.NewDesc("sightline_writer_append_errors_total", "Failed event-store appends (each retried).", nil, nil)
	descWriterDecode  = prometheus.NewDesc("sightline_writer_decode_errors_total", "Spooled batches skipped as undecodable.", nil, nil)
	descWriterLag     = prometheus.NewDesc("sightline_writer_lag_seconds", "Age of the oldest spooled batch not yet in the event store.", nil, nil)
	descWriterLagB    = prometheus.NewDesc("sightline_writer_lag_bytes", "Spooled bytes not yet in the event store.", nil, nil)
	descAppendSeconds = prometheus.NewDesc("sightline_store_append_seconds", "Duration of the latest event-store append.", nil, nil)
)

func (spoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSpoolBytes, descSpoolMax, descSpoolSegments, descSpoolRecords,
		descSpoolFsyncs, descSpoolFull, descSpoolCorrupt, descFsyncSeconds, descWriterEvents, descWriterBatches,
		descWriterErrors, descWriterDecode, descWriterLag, descWriterLagB, descAppendSeconds} {
		ch <- d
	}
}

func (c spoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.spool.Stats()
	w := c.a.writer.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descSpoolBytes, float64(s.UnreleasedBytes))
	gauge(descSpoolMax, float64(s.MaxBytes))
	gauge(descSpoolSegments, float64(s.Segments))
	counter(descSpoolRecords, float64(s.Committed))
	counter(descSpoolFsyncs, float64(s.Fsyncs))
	counter(descSpoolFull, float64(s.FullRejections))
	counter(descSpoolCorrupt, float64(s.CorruptBytes))
	gauge(descFsyncSeconds, s.LastSync.Seconds())
	counter(descWriterEvents, float64(w.EventsWritten))
	counter(descWriterBatches, float64(w.Batches))
	counter(descWriterErrors, float64(w.AppendErrors))
	counter(descWriterDecode, float64(w.DecodeErrors))
	gauge(descWriterLag, w.LagAge.Seconds())
	gauge(descWriterLagB, float64(w.LagBytes))
	gauge(descAppendSeconds, w.LastAppendLatency.Seconds())
}
