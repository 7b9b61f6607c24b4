package api

import (
	"testing"

	"github.com/sightline-analytics/sightline/insight"
)

func TestSeverity(t *testing.T) {
	anomalies := []struct {
		name               string
		observed, expected float64
		peakZ              float64
		want               string
	}{
		{"far in z", 10, 9, 8, "high"},
		{"several times the baseline", 16, 2.3, 3.5, "high"},
		{"a drop to a fifth", 20, 100, 6, "high"},
		{"z of 5", 130, 100, 5.2, "medium"},
		{"half again", 160, 100, 3.6, "medium"},
		{"nothing where one was expected", 0, 1, 1.2, "medium"},
		{"a third more", 130, 100, 3.6, "low"},
	}
	for _, tt := range anomalies {
		a := insight.Anomaly{Observed: tt.observed, Expected: tt.expected, PeakZ: tt.peakZ}
		if got := anomalySeverity(&a); got != tt.want {
			t.Errorf("%s: anomalySeverity = %s, want %s", tt.name, got, tt.want)
		}
	}
	zero := 0.0
	clusters := []struct {
		name       string
		frustrated float64
		lift       *float64
		want       string
	}{
		{"mostly frustrated", 0.6, nil, "high"},
		{"often frustrated", 0.35, nil, "medium"},
		{"only converting poorly", 0.1, &zero, "low"},
	}
	for _, tt := range clusters {
		c := insight.Cluster{FrustratedShare: tt.frustrated, ConversionLift: tt.lift}
		if got := clusterSeverity(&c); got != tt.want {
			t.Errorf("%s: clusterSeverity = %s, want %s", tt.name, got, tt.want)
		}
	}
}
