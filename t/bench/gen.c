/* See LICENSE file for copyright and license details. */
/*
 * gen: deterministic real-estate listings for make bench, one JSON object
 * a line.  Record i depends only on the seed and i, so any two runs with
 * the same seed and count print the same bytes.  With -m PCT, about PCT
 * percent of the records (picked by the mutation seed) get a new price
 * and a new title and nothing else: same ids, same order, every other
 * byte of the line the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define REC_MIN		450	/* bytes of a line, without the newline */
#define REC_MAX		750
#define TARGET_LO	520	/* the line length aimed at: drawn in */
#define TARGET_HI	722	/* [LO, HI]; HI leaves room to mutate */
#define ID_SPACE	1000000000ULL

struct district {
	const char *name;
	double lat, lon;
};

struct city {
	const char *name;
	int eur_m2;			/* a typical price per square metre */
	const struct district *d;
	size_t nd;
};

static const struct district madrid[] = {
	{ "Chamberí", 40.4340, -3.7038 }, { "Salamanca", 40.4297, -3.6790 },
	{ "Malasaña", 40.4262, -3.7044 }, { "Chamartín", 40.4618, -3.6770 },
	{ "Retiro", 40.4114, -3.6760 }, { "Lavapiés", 40.4086, -3.7010 },
	{ "Arganzuela", 40.3980, -3.6970 }, { "Moncloa-Aravaca", 40.4355,
	-3.7190 }, { "Tetuán", 40.4600, -3.6980 }, { "Usera", 40.3850,
	-3.7070 }
};
static const struct district barcelona[] = {
	{ "Sarrià-Sant Gervasi", 41.4010, 2.1280 }, { "Gràcia", 41.4036,
	2.1566 }, { "Eixample", 41.3888, 2.1620 }, { "Poblenou", 41.4010,
	2.2000 }, { "Les Corts", 41.3850, 2.1320 }, { "Horta-Guinardó",
	41.4180, 2.1680 }, { "Sants-Montjuïc", 41.3730, 2.1450 },
	{ "Ciutat Vella", 41.3820, 2.1770 }, { "Sant Andreu", 41.4350,
	2.1900 }
};
static const struct district valencia[] = {
	{ "Russafa", 39.4620, -0.3750 }, { "El Carme", 39.4780, -0.3800 },
	{ "Benimaclet", 39.4850, -0.3580 }, { "Campanar", 39.4830, -0.3950 },
	{ "Patraix", 39.4610, -0.3920 }
};
static const struct district sevilla[] = {
	{ "Triana", 37.3850, -6.0030 }, { "Nervión", 37.3840, -5.9720 },
	{ "Santa Cruz", 37.3860, -5.9890 }, { "Los Remedios", 37.3750,
	-6.0000 }
};
static const struct district malaga[] = {
	{ "El Palo", 36.7220, -4.3600 }, { "Soho", 36.7170, -4.4230 },
	{ "Pedregalejos", 36.7210, -4.3800 }, { "Teatinos", 36.7240, -4.4700 }
};
static const struct district girona[] = {
	{ "Barri Vell", 41.9870, 2.8260 }, { "Montilivi", 41.9720, 2.8160 },
	{ "Santa Eugènia", 41.9790, 2.7990 }
};
static const struct district palma[] = {
	{ "Santa Catalina", 39.5730, 2.6370 }, { "Son Espanyolet", 39.5790,
	2.6310 }, { "El Molinar", 39.5590, 2.6740 }
};
static const struct district bilbao[] = {
	{ "Abando", 43.2630, -2.9330 }, { "Deusto", 43.2710, -2.9480 },
	{ "Indautxu", 43.2600, -2.9410 }
};

static const struct city cities[] = {
	{ "Madrid", 5200, madrid, NELEM(madrid) },
	{ "Barcelona", 4800, barcelona, NELEM(barcelona) },
	{ "València", 2600, valencia, NELEM(valencia) },
	{ "Sevilla", 2400, sevilla, NELEM(sevilla) },
	{ "Málaga", 3300, malaga, NELEM(malaga) },
	{ "Girona", 2700, girona, NELEM(girona) },
	{ "Palma", 4100, palma, NELEM(palma) },
	{ "Bilbao", 3500, bilbao, NELEM(bilbao) }
};

static const char *const kinds[] = {
	"Piso", "Ático", "Dúplex", "Estudio", "Casa", "Chalet", "Loft",
	"Apartamento", "Planta baja", "Pis", "Àtic", "Masia"
};
static const char *const adjectives[] = {
	"luminoso", "reformado", "con terraza", "con vistas", "exterior",
	"céntrico", "amplio", "tranquilo", "de diseño", "para entrar a vivir",
	"assolellat", "amb balcó", "con piscina comunitaria", "señorial"
};
static const char *const sentences[] = {
	"Magnífica vivienda en el corazón del barrio, a un paso de todo.",
	"Cocina office totalmente equipada y baño con ducha de obra.",
	"Orientación sur: mucha luz natural durante todo el día.",
	"Calefacción por suelo radiante y aire acondicionado por conductos.",
	"A dos minutos del metro, colegios, mercado y zonas verdes.",
	"Pis assolellat amb balcó i vistes a la muntanya.",
	"Finca regia con portería física y ascensor.",
	"Ideal para familias o inversores.",
	"Armarios empotrados en todos los dormitorios.",
	"Comunidad con piscina, jardín y zona infantil.",
	"Gastos de comunidad: 85 €/mes; IBI: 420 €/año.",
	"Plaza de garaje opcional en el mismo edificio.",
	"Suelos de parquet y carpintería de aluminio con rotura de puente "
	"térmico.",
	"Edifici modernista restaurat, a tocar del passeig.",
	"Visitas con cita previa: \"llámenos sin compromiso\".",
	"Certificado energético: B.\nDisponible de inmediato.",
	"Techos altos con molduras originales y balcones a la calle.",
	"Trastero incluido en el precio.",
	"Zona muy tranquila, sin ruidos, rodeada de cafeterías y tiendas.",
	"Dormitorio principal en suite con vestidor.",
	"Cuina reformada i bany complet amb finestra.",
	"Salón-comedor de 30 m² con salida a la terraza."
};
static const char *const features[] = {
	"ascensor", "terraza", "balcón", "piscina", "garaje", "trastero",
	"aire acondicionado", "calefacción", "jardín", "portero", "amueblado",
	"armarios empotrados", "vistas al mar", "chimenea", "accesible"
};
static const char *const first_names[] = {
	"María", "José", "Núria", "Jordi", "Àlex", "Montserrat", "Iñaki",
	"Begoña", "Pau", "Mònica", "Sofía", "Joan", "Lucía", "Martí"
};
static const char *const surnames[] = {
	"García", "Martínez", "Puig", "Ferrer", "Vilà", "Sánchez", "Muñoz",
	"Castells", "Ibáñez", "Roig", "Peña", "Soler", "Ortega", "Rovira"
};
static const char *const statuses[] = {
	"active", "active", "active", "active", "active", "active", "active",
	"active", "reserved", "sold"
};
static const char *const title_news[] = {
	"Rebajado: ", "¡Oportunidad! ", "Precio reducido · ", "Nou preu: ",
	"Bajada de precio: "
};
static const int month_days[] = {
	31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 28
};

struct buf {
	char *p;
	size_t len, cap;
};

static void
die(const char *msg)
{
	fprintf(stderr, "gen: %s\n", msg);
	exit(1);
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform integer in [0, n). */
static uint64_t
below(uint64_t *s, uint64_t n)
{
	return splitmix(s) % n;
}

/* A uniform double in [0, 1). */
static double
unit(uint64_t *s)
{
	return (double)(splitmix(s) >> 11) / 9007199254740992.0;
}

static void
add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? 2 * b->cap : 4096;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			die("out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

static void
addf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		die("formatted field too long");
	add(b, tmp, (size_t)n);
}

/* s as a JSON string; the pools hold only '"' and '\n' to escape. */
static void
addj(struct buf *b, const char *s)
{
	const char *p;

	add(b, "\"", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			add(b, "\\\"", 2);
		else if (*p == '\\')
			add(b, "\\\\", 2);
		else if (*p == '\n')
			add(b, "\\n", 2);
		else
			add(b, p, 1);
	}
	add(b, "\"", 1);
}

/* The escaped length of s inside a JSON string. */
static size_t
jlen(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '"' || *s == '\\' || *s == '\n' ? 2 : 1;
	return n;
}

/* One listing: every field, before it is printed. */
struct listing {
	char id[16];
	char title[160];
	char desc[1024];
	char agent[64];
	char phone[24];			/* "" when the agent has none */
	char updated_at[32];
	const struct city *city;
	const struct district *district;
	const char *status;
	long price;
	double area, lat, lon;
	int beds, baths, decimal;
	int feat[8], nfeat, nimg;
};

/* Draws every field of record i but the description from stream s. */
static void
draw(struct listing *l, uint64_t *s, uint64_t idmul, uint64_t idadd,
    uint64_t i)
{
	const char *kind;
	uint64_t used = 0, n;
	int k, tries, month;

	snprintf(l->id, sizeof(l->id), "L%09" PRIu64,
	    (uint64_t)((i * idmul + idadd) % ID_SPACE));
	l->city = &cities[below(s, NELEM(cities))];
	l->district = &l->city->d[below(s, l->city->nd)];
	kind = kinds[below(s, NELEM(kinds))];
	l->beds = kind[0] == 'E' ? 0 : 1 + (int)below(s, 5);
	l->baths = 1 + (int)below(s, (uint64_t)(l->beds > 2 ? 3 : 2));
	l->area = 28 + 22.0 * l->beds + unit(s) * 60;
	l->decimal = below(s, 5) == 0;
	l->area = l->decimal ? (double)(long)(l->area * 2) / 2 :
	    (double)(long)l->area;
	l->price = (long)(l->area * l->city->eur_m2 * (0.7 + 0.6 * unit(s)));
	l->price = (l->price + 500) / 1000 * 1000;
	l->lat = l->district->lat + (unit(s) - 0.5) * 0.02;
	l->lon = l->district->lon + (unit(s) - 0.5) * 0.02;
	snprintf(l->title, sizeof(l->title), "%s %s en %s", kind,
	    adjectives[below(s, NELEM(adjectives))], l->district->name);
	l->nfeat = 0;
	for (tries = 2 + (int)below(s, 4); tries > 0; tries--) {
		n = below(s, NELEM(features));
		if (used & (1ULL << n))
			continue;
		used |= 1ULL << n;
		l->feat[l->nfeat++] = (int)n;
	}
	l->nimg = 1 + (int)below(s, 3);
	snprintf(l->agent, sizeof(l->agent), "%s %s",
	    first_names[below(s, NELEM(first_names))],
	    surnames[below(s, NELEM(surnames))]);
	l->phone[0] = '\0';
	if (below(s, 5) != 0) {
		k = (int)below(s, 100);
		snprintf(l->phone, sizeof(l->phone), "+34 6%02d %03d %03d", k,
		    (int)below(s, 1000), (int)below(s, 1000));
	}
	l->status = statuses[below(s, NELEM(statuses))];
	month = 1 + (int)below(s, 11);
	snprintf(l->updated_at, sizeof(l->updated_at),
	    "2026-%02d-%02dT%02d:%02d:%02dZ", month,
	    1 + (int)below(s, (uint64_t)month_days[month - 1]),
	    (int)below(s, 24), (int)below(s, 60), (int)below(s, 60));
	l->desc[0] = '\0';
}

/* Prints l as one line (with its newline) into b, reset first. */
static void
print(struct buf *b, const struct listing *l)
{
	int k;

	b->len = 0;
	adds(b, "{\"id\":\"");
	adds(b, l->id);
	adds(b, "\",\"title\":");
	addj(b, l->title);
	adds(b, ",\"description\":");
	addj(b, l->desc);
	addf(b, ",\"price\":%ld,\"currency\":\"EUR\",\"bedrooms\":%d,"
	    "\"bathrooms\":%d,\"area\":", l->price, l->beds, l->baths);
	if (l->decimal)
		addf(b, "%.1f", l->area);
	else
		addf(b, "%ld", (long)l->area);
	adds(b, ",\"location\":{\"city\":");
	addj(b, l->city->name);
	adds(b, ",\"district\":");
	addj(b, l->district->name);
	addf(b, ",\"lat\":%.6f,\"lon\":%.6f},\"features\":[", l->lat, l->lon);
	for (k = 0; k < l->nfeat; k++) {
		if (k > 0)
			adds(b, ",");
		addj(b, features[l->feat[k]]);
	}
	adds(b, "],\"images\":[");
	for (k = 0; k < l->nimg; k++)
		addf(b, "%s\"https://cdn.example.es/p/%s/%d.jpg\"",
		    k > 0 ? "," : "", l->id, k + 1);
	adds(b, "],\"agent\":{\"name\":");
	addj(b, l->agent);
	if (l->phone[0] != '\0') {
		adds(b, ",\"phone\":");
		addj(b, l->phone);
	}
	addf(b, "},\"status\":\"%s\",\"updated_at\":\"%s\"}\n", l->status,
	    l->updated_at);
}

/*
 * Record i into b.  The description is whole sentences up to a length
 * drawn for the record, measured on the unmutated record so that a
 * mutation leaves it alone; then, when mutated, the mutation stream m
 * picks a price cut and a title prefix.
 */
static void
record(struct buf *b, uint64_t seed, uint64_t idmul, uint64_t idadd,
    uint64_t i, int mutated, uint64_t *m)
{
	struct listing l;
	uint64_t s = seed ^ (i * 0xd1342543de82ef95ULL), k, used = 0;
	size_t target, len, dlen = 0, add_len, tries;
	char t[sizeof(l.title)];
	const char *sent;
	long cut;

	splitmix(&s);
	draw(&l, &s, idmul, idadd, i);
	print(b, &l);
	len = b->len - 1;	/* without the newline */
	target = TARGET_LO + below(&s, TARGET_HI - TARGET_LO + 1);
	for (k = below(&s, NELEM(sentences)), tries = 0;
	    tries < NELEM(sentences) && (dlen == 0 || len + dlen < target);
	    k = (k + 1) % NELEM(sentences), tries++) {
		sent = sentences[k];
		add_len = jlen(sent) + (dlen > 0);
		if ((used & (1ULL << k)) || (len + dlen + add_len > target &&
		    (dlen > 0 || len + add_len > TARGET_HI)))
			continue;
		used |= 1ULL << k;
		if (dlen > 0)
			strcat(l.desc, " ");
		strcat(l.desc, sent);
		dlen += add_len;
		tries = 0;
		k += below(&s, 3);
	}
	if (mutated) {
		cut = ((long)(l.price * (0.01 + 0.07 * unit(m))) + 500) /
		    1000 * 1000;
		l.price -= cut > 1000 ? cut : 1000;
		snprintf(t, sizeof(t), "%s%s",
		    title_news[below(m, NELEM(title_news))], l.title);
		memcpy(l.title, t, sizeof(t));
	}
	print(b, &l);
}

static void
usage(void)
{
	fputs("usage: gen [-n count] [-s seed] [-m percent [-M seed]]\n",
	    stderr);
	exit(64);
}

static uint64_t
number(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		fprintf(stderr, "gen: invalid %s '%s'\n", what, s);
		exit(64);
	}
	return (uint64_t)v;
}

int
main(int argc, char *argv[])
{
	struct buf b = { NULL, 0, 0 };
	uint64_t n = 1000000, seed = 1, mseed = 2, i, s, m, idmul, idadd;
	uint64_t nmut = 0, threshold = 0;
	static char obuf[1 << 20];
	const char *env;
	char *end;
	double pct = 0;
	int c;

	if ((env = getenv("BENCH_N")) != NULL && *env != '\0')
		n = number(env, "BENCH_N");
	while ((c = getopt(argc, argv, "m:M:n:s:")) != -1) {
		switch (c) {
		case 'm':
			pct = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || pct < 0 ||
			    pct > 100) {
				fprintf(stderr, "gen: invalid -m percent "
				    "'%s'\n", optarg);
				exit(64);
			}
			break;
		case 'M': mseed = number(optarg, "-M seed"); break;
		case 'n': n = number(optarg, "-n count"); break;
		case 's': seed = number(optarg, "-s seed"); break;
		default: usage();
		}
	}
	if (optind != argc || n > ID_SPACE)
		usage();
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	/*
	 * Ids: i -> (i * idmul + idadd) mod 10^9, a bijection when idmul is
	 * prime to 10, so ids never repeat and arrive in no useful order.
	 */
	s = seed;
	idmul = splitmix(&s) % ID_SPACE | 1;
	if (idmul % 5 == 0)
		idmul += 2;
	idadd = splitmix(&s) % ID_SPACE;
	threshold = (uint64_t)(pct * 1e4 + 0.5);	/* out of 10^6 */
	for (i = 0; i < n; i++) {
		int mut = 0;

		m = mseed ^ (i * 0x9fb21c651e98df25ULL) ^ (seed << 32);
		splitmix(&m);
		if (threshold > 0 && splitmix(&m) % 1000000 < threshold)
			mut = 1;
		nmut += (uint64_t)mut;
		record(&b, seed, idmul, idadd, i, mut, &m);
		if (b.len - 1 < REC_MIN || b.len - 1 > REC_MAX) {
			fprintf(stderr, "gen: record %" PRIu64 " is %zu bytes, "
			    "outside %d-%d\n", i, b.len - 1, REC_MIN, REC_MAX);
			return 1;
		}
		fwrite(b.p, 1, b.len, stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("write error on stdout");
	if (pct > 0)
		fprintf(stderr, "gen: %" PRIu64 " of %" PRIu64 " records "
		    "mutated\n", nmut, n);
	free(b.p);
	return 0;
}
