package kiruna

import (
	"embed"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/paulmach/orb"
)

//go:embed facts/*.csv
var factFiles embed.FS

// landmark is one row of facts/landmarks.csv.
type landmark struct {
	ID, Name, Era, Confidence, Source, Note string
	At                                      orb.Point
}

// district is one row of facts/districts.csv.
type district struct {
	ID, Name, Era, Character string
	Bound                    orb.Bound
}

// event is one row of facts/timeline.csv.
type event struct {
	Date, Event, Source string
}

func readCSV(name string) ([]map[string]string, error) {
	f, err := factFiles.Open("facts/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("facts/%s: %w", name, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("facts/%s: no rows", name)
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out, nil
}

func float(row map[string]string, key string) (float64, error) {
	v, err := strconv.ParseFloat(row[key], 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", key, row[key], err)
	}
	return v, nil
}

func readLandmarks() ([]landmark, error) {
	rows, err := readCSV("landmarks.csv")
	if err != nil {
		return nil, err
	}
	var out []landmark
	for i, r := range rows {
		lat, err := float(r, "lat")
		if err != nil {
			return nil, fmt.Errorf("facts/landmarks.csv row %d: %w", i+2, err)
		}
		lon, err := float(r, "lon")
		if err != nil {
			return nil, fmt.Errorf("facts/landmarks.csv row %d: %w", i+2, err)
		}
		out = append(out, landmark{ID: r["id"], Name: r["name"], Era: r["status"], Confidence: r["confidence"],
			Source: r["source"], Note: r["note"], At: orb.Point{lon, lat}})
	}
	return out, nil
}

func readDistricts() ([]district, error) {
	rows, err := readCSV("districts.csv")
	if err != nil {
		return nil, err
	}
	var out []district
	for i, r := range rows {
		var v [4]float64
		for j, k := range []string{"min_lon", "min_lat", "max_lon", "max_lat"} {
			if v[j], err = float(r, k); err != nil {
				return nil, fmt.Errorf("facts/districts.csv row %d: %w", i+2, err)
			}
		}
		out = append(out, district{ID: r["id"], Name: r["name"], Era: r["era"], Character: r["character"],
			Bound: orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}})
	}
	return out, nil
}

func readTimeline() ([]event, error) {
	rows, err := readCSV("timeline.csv")
	if err != nil {
		return nil, err
	}
	var out []event
	for _, r := range rows {
		out = append(out, event{Date: r["date"], Event: r["event"], Source: r["source"]})
	}
	return out, nil
}
