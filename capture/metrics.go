package capture

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the capture endpoint's Prometheus series.
type Metrics struct {
	accepted      prometheus.Counter
	rejectedBy    *prometheus.CounterVec
	requestErrors *prometheus.CounterVec
	rateLimited   prometheus.Counter
	bytes         prometheus.Counter
}

// NewMetrics creates the capture metrics and registers them with reg (nil:
// not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sightline_capture_events_accepted_total",
			Help: "Events accepted and spooled.",
		}),
		rejectedBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_capture_events_rejected_total",
			Help: "Events rejected one by one, by the field that failed validation.",
		}, []string{"reason"}),
		requestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_capture_requests_rejected_total",
			Help: "Whole capture requests refused, by HTTP status.",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sightline_capture_events_rate_limited_total",
			Help: "Events refused because their project was over its rate.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sightline_capture_bytes_total",
			Help: "Decompressed capture bytes accepted.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejectedBy, m.requestErrors, m.rateLimited, m.bytes)
	}
	return m
}

func (m *Metrics) rejected(reason string) { m.rejectedBy.WithLabelValues(reason).Inc() }

func (m *Metrics) requestRejected(status int) {
	m.requestErrors.WithLabelValues(strconv.Itoa(status)).Inc()
}
