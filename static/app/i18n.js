// Every string the viewer shows, one dictionary per language. Swedish
// first; English by the language button or ?lang=en. Dates and numbers go
// through Intl in the chosen language. A key missing from the chosen
// language is reported on the console (and the browser tests fail on it).

const dict = {
  sv: {
    'app.title': 'Kiruna Twin',
    'a11y.skipToTimeline': 'Hoppa till tidslinjen',
    'a11y.map': 'Karta i 3D över staden',
    'a11y.mapCompare': 'Jämförelsekarta',
    'a11y.controls': 'Kontroller',
    'lang.switch': 'English',
    'lang.switchLabel': 'Switch to English',
    'search.label': 'Sök',
    'search.placeholder': 'Sök plats, byggnad eller sensor',
    'search.results': 'Sökträffar',
    'search.none': 'Inga träffar',
    'search.loading': 'Söker …',
    'timeline.title': 'Tidslinje',
    'timeline.play': 'Spela',
    'timeline.pause': 'Pausa',
    'timeline.slider': 'År',
    'timeline.events': 'Händelser på tidslinjen',
    'timeline.event': '{date}: {title}',
    'timeline.now': 'i dag',
    'compare.button': 'Jämför år',
    'compare.close': 'Avsluta jämförelsen',
    'compare.yearB': 'Jämför med',
    'compare.pane': 'År {year}',
    'layers.title': 'Lager',
    'layers.ghosts': 'Visa rivna byggnader',
    'layer.buildings': 'Byggnader',
    'layer.infrastructure': 'Infrastruktur',
    'layer.zones': 'Deformationszon',
    'layer.sensors': 'Sensorer',
    'layer.pilots': 'Pilotprojekt',
    'layer.landmarks': 'Platser',
    'layer.water': 'Vatten',
    'layer.landuse': 'Mark',
    'legend.title': 'Teckenförklaring',
    'status.standing': 'Står kvar',
    'status.doomed': 'Ska rivas',
    'status.demolished': 'Riven',
    'status.moved': 'Flyttad',
    'status.new': 'Ny',
    'status.planned': 'Planerad',
    'story.built': 'Byggd',
    'story.movedHere': 'Flyttad hit',
    'story.movedAway': 'Flyttad härifrån',
    'story.demolished': 'Riven',
    'story.planned': 'Planerad till',
    'story.since': 'Sedan',
    'story.until': 'Till',
    'story.plannedFrom': 'Planerad från',
    'story.existsIn': 'Finns år {year}',
    'story.notYetThere': 'Finns ännu inte år {year}',
    'story.zoneAppears': 'Zonens utbredning',
    'story.zoneGrows': 'Zonen växer sedan år för år',
    'story.zoneOfYear': 'Deformationszonen år {zoneYear}',
    'story.zoneNotYet': 'Zonen når inte hit år {year}',
    'story.inForce': 'Gäller från',
    'story.inForceUntil': 'Gäller till',
    'story.worksBegin': 'Bygget börjar',
    'story.worksEnd': 'Klart',
    'story.inService': 'I drift från',
    'story.outOfService': 'Ur drift',
    'story.opened': 'Öppnad',
    'story.closed': 'Stängd',
    'story.generatedIn': 'Exempelbyggnad, genererad efter hur husen i {district} ser ut',
    'story.generated': 'Exempelbyggnad, genererad efter stadsdelens karaktär',
    'when.year': 'år {date}',
    'when.month': 'i {date}',
    'when.day': '{date}',
    'timeline.group': '{years}, {n} händelser: {events}',
    'sensor.range': 'Lägst {min}, högst {max}',
    'sensor.unnamed': 'Sensor: {type}',
    'sensorType.ground_deformation': 'markrörelse',
    'sensorType.district_heating': 'fjärrvärme, framledningstemperatur',
    'sensorType.waste_fill': 'fyllnadsgrad i avfallskärl',
    'sensorType.snow_depth': 'snödjup',
    'sensorType.blast_vibration': 'sprängvibrationer',
    'sensorType.air_quality': 'luftkvalitet (PM10)',
    'compare.divider': 'Gränsen mellan åren; dra för att flytta',
    'search.sites': '{n} platser',
    'story.gone': 'Finns inte år {year}',
    'story.notYet': 'Ännu inte byggd år {year}',
    'story.standsIn': 'Står år {year}',
    'story.source': 'Källa',
    'story.confidence': 'Säkerhet',
    'story.otherSite': 'Visa den andra platsen',
    'story.thisSite': 'Den här platsen',
    'story.height': 'Höjd',
    'story.kind': 'Typ',
    'story.loading': 'Hämtar historien …',
    'story.unavailable': 'Historien kunde inte hämtas just nu; uppgifterna nedan kommer från kartan.',
    'confidence.sourced': 'belagd',
    'confidence.approx': 'ungefärlig',
    'confidence.guess': 'uppskattad',
    'confidence.generated': 'genererad (exempelbyggnad)',
    'confidence.unknown': 'okänd',
    'sensor.latest': 'Senaste värdet',
    'sensor.history': 'Senaste dygnet',
    'sensor.noHistory': 'Ingen historik det senaste dygnet',
    'sensor.status': 'Status',
    'sensor.status.ok': 'ok',
    'sensor.status.stale': 'inaktuell',
    'sensor.status.alarm': 'larm',
    'sensor.status.unknown': 'okänd',
    'sensor.measured': 'Uppmätt',
    'sensor.type': 'Typ',
    'sensor.chart': 'Värden det senaste dygnet, från {min} till {max} {unit}',
    'tour.start': 'Guidad tur',
    'tour.stop': 'Avsluta turen',
    'tour.prev': 'Föregående',
    'tour.next': 'Nästa',
    'tour.home': 'Tillbaka till start',
    'tour.step': 'Vy {n} av {count}',
    'tour.touchHint': 'Rör vid kartan för att utforska själv',
    'action.close': 'Stäng',
    'net.lost': 'Anslutningen bröts – försöker igen',
    'net.back': 'Anslutningen är tillbaka',
    'net.loading': 'Laddar staden …',
    'net.waiting': 'Väntar på servern – försöker igen',
    'sources.title': 'Källor',
    'sources.generated': 'Genererat',
    'kind.unknown': 'okänd',
    'kind.house': 'bostadshus',
    'kind.apartments': 'flerbostadshus',
    'kind.service': 'service',
    'kind.villa': 'villa',
    'kind.shop': 'butik',
    'kind.office': 'kontor',
    'kind.school': 'skola',
    'kind.blackhorn_house': 'bläckhornshus',
    'kind.industrial': 'industri',
    'kind.heritage_house': 'kulturhistoriskt hus',
    'kind.warehouse': 'lager',
    'kind.bell_tower': 'klockstapel',
    'kind.church': 'kyrka',
    'kind.culture_centre': 'kulturhus',
    'kind.fire_station': 'brandstation',
    'kind.station': 'station',
    'kind.town_hall': 'stadshus',
    'kind.hotel': 'hotell',
    'kind.summit': 'fjälltopp',
    'kind.heritage_site': 'kulturmiljö',
    'kind.church_site': 'kyrkplats',
    'kind.town_centre': 'stadskärna',
    'kind.airport': 'flygplats',
    'kind.decision': 'beslut',
    'kind.road': 'gata',
    'kind.road_major': 'huvudväg',
    'kind.rail': 'järnväg',
    'kind.district_heating': 'fjärrvärme',
    'kind.water_main': 'vattenledning',
    'kind.road_construction': 'vägbygge',
    'kind.caved': 'rasområde',
    'kind.fracture': 'sprickzon',
    'kind.deformation': 'deformationszon',
    'kind.mine': 'gruva',
    'kind.mine_park': 'gruvstadspark',
    'kind.fenced': 'inhägnat område',
    'kind.impact_boundary': 'påverkansgräns',
    'kind.planning_area': 'planområde',
    'story.otherPlace': 'Den andra platsen',
    'layer.unnamed': 'Namnlös',
  },
  en: {
    'app.title': 'Kiruna Twin',
    'a11y.skipToTimeline': 'Skip to the timeline',
    'a11y.map': '3D map of the town',
    'a11y.mapCompare': 'Comparison map',
    'a11y.controls': 'Controls',
    'lang.switch': 'Svenska',
    'lang.switchLabel': 'Byt till svenska',
    'search.label': 'Search',
    'search.placeholder': 'Search a place, building or sensor',
    'search.results': 'Search results',
    'search.none': 'Nothing found',
    'search.loading': 'Searching …',
    'timeline.title': 'Timeline',
    'timeline.play': 'Play',
    'timeline.pause': 'Pause',
    'timeline.slider': 'Year',
    'timeline.events': 'Events on the timeline',
    'timeline.event': '{date}: {title}',
    'timeline.now': 'today',
    'compare.button': 'Compare years',
    'compare.close': 'End the comparison',
    'compare.yearB': 'Compare with',
    'compare.pane': 'Year {year}',
    'layers.title': 'Layers',
    'layers.ghosts': 'Show demolished buildings',
    'layer.buildings': 'Buildings',
    'layer.infrastructure': 'Infrastructure',
    'layer.zones': 'Deformation zone',
    'layer.sensors': 'Sensors',
    'layer.pilots': 'Pilots',
    'layer.landmarks': 'Places',
    'layer.water': 'Water',
    'layer.landuse': 'Land',
    'legend.title': 'Legend',
    'status.standing': 'Standing',
    'status.doomed': 'To be demolished',
    'status.demolished': 'Demolished',
    'status.moved': 'Moved',
    'status.new': 'New',
    'status.planned': 'Planned',
    'story.built': 'Built',
    'story.movedHere': 'Moved here',
    'story.movedAway': 'Moved away',
    'story.demolished': 'Demolished',
    'story.planned': 'Planned for',
    'story.since': 'Since',
    'story.until': 'Until',
    'story.plannedFrom': 'Planned from',
    'story.existsIn': 'There in {year}',
    'story.notYetThere': 'Not yet there in {year}',
    'story.zoneAppears': "The zone's extent",
    'story.zoneGrows': 'The zone then grows year by year',
    'story.zoneOfYear': 'The deformation zone in {zoneYear}',
    'story.zoneNotYet': 'The zone does not reach here in {year}',
    'story.inForce': 'In force from',
    'story.inForceUntil': 'In force until',
    'story.worksBegin': 'Works begin',
    'story.worksEnd': 'Finished',
    'story.inService': 'In service from',
    'story.outOfService': 'Out of service',
    'story.opened': 'Opened',
    'story.closed': 'Closed',
    'story.generatedIn': 'An example building, generated after the character of {district}',
    'story.generated': "An example building, generated after its district's character",
    'when.year': 'in {date}',
    'when.month': 'in {date}',
    'when.day': 'on {date}',
    'timeline.group': '{years}, {n} events: {events}',
    'sensor.range': 'Lowest {min}, highest {max}',
    'sensor.unnamed': 'Sensor: {type}',
    'sensorType.ground_deformation': 'ground movement',
    'sensorType.district_heating': 'district heating, supply temperature',
    'sensorType.waste_fill': 'waste bin fill level',
    'sensorType.snow_depth': 'snow depth',
    'sensorType.blast_vibration': 'blast vibration',
    'sensorType.air_quality': 'air quality (PM10)',
    'compare.divider': 'The border between the years; drag to move it',
    'search.sites': '{n} sites',
    'story.gone': 'Not there in {year}',
    'story.notYet': 'Not yet built in {year}',
    'story.standsIn': 'Stands in {year}',
    'story.source': 'Source',
    'story.confidence': 'Confidence',
    'story.otherSite': 'Show the other site',
    'story.thisSite': 'This site',
    'story.height': 'Height',
    'story.kind': 'Kind',
    'story.loading': 'Fetching the story …',
    'story.unavailable': 'The story could not be fetched just now; what follows comes from the map.',
    'confidence.sourced': 'sourced',
    'confidence.approx': 'approximate',
    'confidence.guess': 'estimated',
    'confidence.generated': 'generated (an example building)',
    'confidence.unknown': 'unknown',
    'sensor.latest': 'Latest value',
    'sensor.history': 'Last 24 hours',
    'sensor.noHistory': 'No readings in the last 24 hours',
    'sensor.status': 'Status',
    'sensor.status.ok': 'ok',
    'sensor.status.stale': 'stale',
    'sensor.status.alarm': 'alarm',
    'sensor.status.unknown': 'unknown',
    'sensor.measured': 'Measured',
    'sensor.type': 'Type',
    'sensor.chart': 'Values over the last 24 hours, from {min} to {max} {unit}',
    'tour.start': 'Guided tour',
    'tour.stop': 'End the tour',
    'tour.prev': 'Previous',
    'tour.next': 'Next',
    'tour.home': 'Back to start',
    'tour.step': 'View {n} of {count}',
    'tour.touchHint': 'Touch the map to explore on your own',
    'action.close': 'Close',
    'net.lost': 'Connection lost – retrying',
    'net.back': 'Connected again',
    'net.loading': 'Loading the town …',
    'net.waiting': 'Waiting for the server – retrying',
    'sources.title': 'Sources',
    'sources.generated': 'Generated',
    'kind.unknown': 'unknown',
    'kind.house': 'house',
    'kind.apartments': 'block of flats',
    'kind.service': 'services',
    'kind.villa': 'villa',
    'kind.shop': 'shop',
    'kind.office': 'office',
    'kind.school': 'school',
    'kind.blackhorn_house': 'Bläckhorn house',
    'kind.industrial': 'industrial',
    'kind.heritage_house': 'heritage house',
    'kind.warehouse': 'warehouse',
    'kind.bell_tower': 'bell tower',
    'kind.church': 'church',
    'kind.culture_centre': 'culture centre',
    'kind.fire_station': 'fire station',
    'kind.station': 'station',
    'kind.town_hall': 'town hall',
    'kind.hotel': 'hotel',
    'kind.summit': 'summit',
    'kind.heritage_site': 'heritage site',
    'kind.church_site': 'church site',
    'kind.town_centre': 'town centre',
    'kind.airport': 'airport',
    'kind.decision': 'decision',
    'kind.road': 'street',
    'kind.road_major': 'main road',
    'kind.rail': 'railway',
    'kind.district_heating': 'district heating',
    'kind.water_main': 'water main',
    'kind.road_construction': 'road works',
    'kind.caved': 'caved zone',
    'kind.fracture': 'fracture zone',
    'kind.deformation': 'deformation zone',
    'kind.mine': 'mine',
    'kind.mine_park': 'mine town park',
    'kind.fenced': 'fenced area',
    'kind.impact_boundary': 'impact boundary',
    'kind.planning_area': 'planning area',
    'story.otherPlace': 'The other site',
    'layer.unnamed': 'Unnamed',
  },
};

export const languages = Object.keys(dict);

let lang = 'sv';

// setLang chooses the language; unknown languages fall back to Swedish.
export function setLang(l) {
  lang = dict[l] ? l : 'sv';
  document.documentElement.lang = lang;
}

export function getLang() {
  return lang;
}

// t returns the string for key in the current language with {name}
// placeholders filled from vars.
export function t(key, vars) {
  let s = dict[lang][key];
  if (s === undefined) {
    console.error(`i18n: no ${lang} string for "${key}"`);
    s = key;
  }
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

// has says whether key exists in the current language.
export function has(key) {
  return dict[lang][key] !== undefined;
}

// pick chooses the current language's text from a {sv, en} object, falling
// back to Swedish, then to any language; a plain string is returned as is.
export function pick(m) {
  if (m == null) return '';
  if (typeof m === 'string') return m;
  return m[lang] ?? m.sv ?? Object.values(m)[0] ?? '';
}

// applyTo translates every element under root that names a key:
// data-i18n (text), data-i18n-aria (aria-label), data-i18n-placeholder,
// data-i18n-title.
export function applyTo(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
}

// number formats n with the language's separators (sv: 1 234,5).
export function number(n, maxFractionDigits = 1) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: maxFractionDigits }).format(n);
}

// yearOf formats a decimal year as a year number (no thousands separator).
export function year(y) {
  return String(Math.floor(y + 1e-9));
}

// date formats a decimal year or a Date or ISO string as a date in the
// language ("19 augusti 2025"). A whole decimal year (1912.0) or a date
// string of only a year gives the year alone, a year and month the month.
export function date(v) {
  if (typeof v === 'number') {
    if (Math.abs(v - Math.round(v)) < 1e-6) return year(v);
    v = decimalYearToDate(v);
  } else if (typeof v === 'string') {
    const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T00:00(?::00(?:\.0+)?)?(?:Z|\+00:00)?)?$/.exec(v);
    // A year alone, or the first instant of a year (how "1963" comes back
    // as RFC 3339), shows as the year: no made-up precision.
    if (m && (!m[2] || (m[2] === '01' && (!m[3] || m[3] === '01') && v.length > 7))) return m[1];
    if (m && !m[3]) {
      return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'long', timeZone: 'UTC' })
        .format(new Date(Date.UTC(+m[1], +m[2] - 1, 1)));
    }
    v = new Date(v);
  }
  if (!(v instanceof Date) || isNaN(v)) return '';
  return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(v);
}

// datePrecision says what date(v) shows: 'year', 'month' or 'day'.
export function datePrecision(v) {
  if (typeof v === 'number') return Math.abs(v - Math.round(v)) < 1e-6 ? 'year' : 'day';
  if (typeof v === 'string') {
    const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T00:00(?::00(?:\.0+)?)?(?:Z|\+00:00)?)?$/.exec(v);
    if (m && (!m[2] || (m[2] === '01' && (!m[3] || m[3] === '01') && v.length > 7))) return 'year';
    if (m && !m[3]) return 'month';
  }
  return 'day';
}

// dayTime formats an instant as a short day and time of day ("1 dec.
// 06:10"), for a chart's axis.
export function dayTime(v) {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d)) return '';
  return new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(d);
}

// dateTime formats an instant with date and time of day, in local time.
export function dateTime(v) {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d)) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// time formats the time of day of an instant.
export function time(v) {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d)) return '';
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(d);
}

// decimalYearToDate turns 2025.63 into the instant it names (UTC).
export function decimalYearToDate(y) {
  const whole = Math.floor(y);
  const start = Date.UTC(whole, 0, 1);
  const end = Date.UTC(whole + 1, 0, 1);
  return new Date(start + (y - whole) * (end - start));
}

// dateToDecimalYear is the inverse of decimalYearToDate.
export function dateToDecimalYear(d) {
  const whole = d.getUTCFullYear();
  const start = Date.UTC(whole, 0, 1);
  const end = Date.UTC(whole + 1, 0, 1);
  return whole + (d.getTime() - start) / (end - start);
}

// keys lists every key of a language (for the tests).
export function keys(l) {
  return Object.keys(dict[l] || {});
}
