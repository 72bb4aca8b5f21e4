package tiles3d

import "math"

// WGS84, as 3D Tiles wants positions: earth-centred, earth-fixed (ECEF,
// EPSG:4978) metres.
const (
	wgs84A  = 6378137.0
	wgs84F  = 1 / 298.257223563
	wgs84E2 = wgs84F * (2 - wgs84F)
)

// ToECEF converts geodetic longitude and latitude (degrees) and height
// above the ellipsoid (metres) to ECEF metres.
func ToECEF(lon, lat, h float64) [3]float64 {
	sinLat, cosLat := math.Sincos(lat * math.Pi / 180)
	sinLon, cosLon := math.Sincos(lon * math.Pi / 180)
	n := wgs84A / math.Sqrt(1-wgs84E2*sinLat*sinLat)
	return [3]float64{(n + h) * cosLat * cosLon, (n + h) * cosLat * sinLon, (n*(1-wgs84E2) + h) * sinLat}
}

// FromECEF is the inverse of ToECEF (iterated to well under a millimetre).
func FromECEF(p [3]float64) (lon, lat, h float64) {
	x, y, z := p[0], p[1], p[2]
	lon = math.Atan2(y, x)
	r := math.Hypot(x, y)
	lat = math.Atan2(z, r*(1-wgs84E2))
	for range 8 {
		sin := math.Sin(lat)
		n := wgs84A / math.Sqrt(1-wgs84E2*sin*sin)
		h = r/math.Cos(lat) - n
		lat = math.Atan2(z, r*(1-wgs84E2*n/(n+h)))
	}
	sin := math.Sin(lat)
	n := wgs84A / math.Sqrt(1-wgs84E2*sin*sin)
	if math.Abs(lat) < math.Pi/4 {
		h = r/math.Cos(lat) - n
	} else {
		h = z/sin - n*(1-wgs84E2)
	}
	return lon * 180 / math.Pi, lat * 180 / math.Pi, h
}

// frame is a local east-north-up frame at a point on the ellipsoid: the
// frame of one tile's content.
type frame struct {
	origin           [3]float64 // ECEF
	east, north, up  [3]float64 // unit vectors in ECEF
	lon0, lat0, cosL float64
}

func newFrame(lon, lat float64) frame {
	sinLat, cosLat := math.Sincos(lat * math.Pi / 180)
	sinLon, cosLon := math.Sincos(lon * math.Pi / 180)
	return frame{
		origin: ToECEF(lon, lat, 0),
		east:   [3]float64{-sinLon, cosLon, 0},
		north:  [3]float64{-sinLat * cosLon, -sinLat * sinLon, cosLat},
		up:     [3]float64{cosLat * cosLon, cosLat * sinLon, sinLat},
		lon0:   lon, lat0: lat, cosL: cosLat,
	}
}

// enu returns an ECEF point's coordinates in the frame.
func (f frame) enu(p [3]float64) [3]float64 {
	d := [3]float64{p[0] - f.origin[0], p[1] - f.origin[1], p[2] - f.origin[2]}
	return [3]float64{dot(d, f.east), dot(d, f.north), dot(d, f.up)}
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// matrix is the frame's ENU-to-ECEF transform, column-major as 3D Tiles
// writes a tile's transform.
func (f frame) matrix() [16]float64 {
	return [16]float64{
		f.east[0], f.east[1], f.east[2], 0,
		f.north[0], f.north[1], f.north[2], 0,
		f.up[0], f.up[1], f.up[2], 0,
		f.origin[0], f.origin[1], f.origin[2], 1,
	}
}

// relativeTo returns the transform that takes this frame's coordinates
// into parent's: a child tile's transform, since 3D Tiles composes each
// tile's transform with its parent's.
func (f frame) relativeTo(parent frame) [16]float64 {
	axes := [3][3]float64{f.east, f.north, f.up}
	var m [16]float64
	for c := range 3 {
		m[4*c+0] = dot(axes[c], parent.east)
		m[4*c+1] = dot(axes[c], parent.north)
		m[4*c+2] = dot(axes[c], parent.up)
	}
	o := parent.enu(f.origin)
	m[12], m[13], m[14], m[15] = o[0], o[1], o[2], 1
	return m
}
