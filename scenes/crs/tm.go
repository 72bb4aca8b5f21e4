package crs

import "math"

type ellipsoid struct{ a, f float64 }

// tm is the transverse Mercator (Gauss conformal) projection with latitude
// of origin 0, computed with Krüger's formulas to the fourth order in n as
// Lantmäteriet publishes them ("Gauss Conformal Projection (Transverse
// Mercator), Krüger's Formulas"). Their error is below a millimetre within
// a zone and stays small far outside it.
type tm struct {
	e              ellipsoid
	lon0, k0       float64 // central meridian (degrees), scale on it
	fe, fn         float64 // false easting and northing (metres)
	ka             float64 // k0 · â, the rectifying radius scaled
	beta, delta    [4]float64
	aF, bF, cF, dF float64 // forward latitude series (conformal latitude)
	aI, bI, cI, dI float64 // inverse latitude series
	lon0Rad        float64
}

func (p *tm) init() {
	f := p.e.f
	e2 := f * (2 - f)
	n := f / (2 - f)
	n2, n3, n4 := n*n, n*n*n, n*n*n*n
	aHat := p.e.a / (1 + n) * (1 + n2/4 + n4/64)
	p.ka = p.k0 * aHat
	p.lon0Rad = p.lon0 * math.Pi / 180
	e4, e6, e8 := e2*e2, e2*e2*e2, e2*e2*e2*e2

	p.aF = e2
	p.bF = (5*e4 - e6) / 6
	p.cF = (104*e6 - 45*e8) / 120
	p.dF = 1237 * e8 / 1260
	p.beta = [4]float64{
		n/2 - 2*n2/3 + 5*n3/16 + 41*n4/180,
		13*n2/48 - 3*n3/5 + 557*n4/1440,
		61*n3/240 - 103*n4/140,
		49561 * n4 / 161280,
	}

	p.aI = e2 + e4 + e6 + e8
	p.bI = -(7*e4 + 17*e6 + 30*e8) / 6
	p.cI = (224*e6 + 889*e8) / 120
	p.dI = -4279 * e8 / 1260
	p.delta = [4]float64{
		n/2 - 2*n2/3 + 37*n3/96 - n4/360,
		n2/48 + n3/15 - 437*n4/1440,
		17*n3/480 - 37*n4/840,
		4397 * n4 / 161280,
	}
}

// forward projects longitude and latitude (degrees) to easting and
// northing (metres).
func (p *tm) forward(lon, lat float64) (east, north float64) {
	phi := lat * math.Pi / 180
	dl := lon*math.Pi/180 - p.lon0Rad
	s, c := math.Sincos(phi)
	s2 := s * s
	conf := phi - s*c*(p.aF+p.bF*s2+p.cF*s2*s2+p.dF*s2*s2*s2)
	xi := math.Atan2(math.Tan(conf), math.Cos(dl))
	eta := math.Atanh(math.Cos(conf) * math.Sin(dl))
	x, y := xi, eta
	for i, b := range p.beta {
		k := float64(2 * (i + 1))
		x += b * math.Sin(k*xi) * math.Cosh(k*eta)
		y += b * math.Cos(k*xi) * math.Sinh(k*eta)
	}
	return p.ka*y + p.fe, p.ka*x + p.fn
}

// inverse turns easting and northing (metres) into longitude and latitude
// (degrees).
func (p *tm) inverse(east, north float64) (lon, lat float64) {
	xi := (north - p.fn) / p.ka
	eta := (east - p.fe) / p.ka
	x, y := xi, eta
	for i, d := range p.delta {
		k := float64(2 * (i + 1))
		x -= d * math.Sin(k*xi) * math.Cosh(k*eta)
		y -= d * math.Cos(k*xi) * math.Sinh(k*eta)
	}
	conf := math.Asin(math.Sin(x) / math.Cosh(y))
	dl := math.Atan2(math.Sinh(y), math.Cos(x))
	s, c := math.Sincos(conf)
	s2 := s * s
	phi := conf + s*c*(p.aI+p.bI*s2+p.cI*s2*s2+p.dI*s2*s2*s2)
	return (p.lon0Rad + dl) * 180 / math.Pi, phi * 180 / math.Pi
}
