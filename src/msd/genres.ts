// Genre vocabulary of the synthetic MSD: real Echo Nest style genre terms grouped in families,
// each family with the audio tendencies the generator draws from (tempo, loudness, mode,
// duration, metre, timbre, tonality, era). Also the non-genre words that artist terms mix in:
// places, decades and descriptors. Kept here until the project has its own label vocabulary.

export interface AudioProfile {
  /** Beats per minute: mean and standard deviation. */
  readonly tempo: readonly [number, number];
  /** Overall loudness in dB: mean and standard deviation. */
  readonly loudness: readonly [number, number];
  /** Probability that a track is in a major key. */
  readonly major: number;
  /** Duration in seconds: median and spread (log-normal sigma). */
  readonly duration: readonly [number, number];
  /** Weights of time signatures 1, 3, 4, 5, 7. */
  readonly meter: readonly [number, number, number, number, number];
  /** Segments per second (note onsets). */
  readonly segmentRate: number;
  /** Timbre tendencies: brightness (coefficient 2), flatness (3), attack (4). */
  readonly brightness: number;
  readonly flatness: number;
  readonly attack: number;
  /** How strongly pitch vectors follow the key's scale (0 noise, 1 pure scale). */
  readonly tonality: number;
  /** Release year of the family's artists: mean and standard deviation. */
  readonly era: readonly [number, number];
  /** Relative share of artists in the family. */
  readonly share: number;
}

export interface GenreFamily {
  readonly name: string;
  readonly genres: readonly string[];
  readonly profile: AudioProfile;
  /** Families whose genres its artists often carry too. */
  readonly neighbours: readonly string[];
}

// biome-ignore format: a table, one compact block per family
export const GENRE_FAMILIES: readonly GenreFamily[] = [
  {
    name: "rock",
    genres: [
      "rock", "alternative rock", "indie rock", "classic rock", "hard rock", "soft rock",
      "progressive rock", "psychedelic rock", "garage rock", "post-rock", "art rock", "blues-rock",
      "folk rock", "southern rock", "glam rock", "grunge", "britpop", "pop rock", "rock 'n roll",
      "rockabilly", "surf music", "stoner rock", "space rock", "krautrock", "math rock",
      "noise rock", "shoegaze", "gothic rock", "heartland rock", "jam band",
    ],
    profile: {
      tempo: [124, 24], loudness: [-8, 3], major: 0.7, duration: [235, 0.28],
      meter: [0.02, 0.07, 0.88, 0.02, 0.01], segmentRate: 3.3, brightness: 20, flatness: 5,
      attack: 10, tonality: 0.55, era: [1992, 13], share: 18,
    },
    neighbours: ["metal", "punk", "pop", "blues", "country and folk"],
  },
  {
    name: "metal",
    genres: [
      "heavy metal", "death metal", "black metal", "thrash metal", "doom metal", "power metal",
      "speed metal", "progressive metal", "nu metal", "metalcore", "grindcore", "gothic metal",
      "symphonic metal", "folk metal", "sludge metal", "alternative metal", "industrial metal",
      "melodic death metal", "deathcore", "glam metal", "viking metal",
    ],
    profile: {
      tempo: [136, 30], loudness: [-5, 1.8], major: 0.42, duration: [270, 0.32],
      meter: [0.02, 0.05, 0.88, 0.03, 0.02], segmentRate: 3.9, brightness: 55, flatness: 30,
      attack: 5, tonality: 0.3, era: [2000, 8], share: 7,
    },
    neighbours: ["rock", "punk"],
  },
  {
    name: "punk",
    genres: [
      "punk", "hardcore punk", "pop punk", "post-punk", "emo", "screamo", "ska punk", "oi",
      "street punk", "post-hardcore", "riot grrrl", "anarcho-punk", "crust punk", "skate punk",
      "melodic hardcore", "garage punk",
    ],
    profile: {
      tempo: [162, 28], loudness: [-5.5, 2], major: 0.66, duration: [165, 0.3],
      meter: [0.01, 0.03, 0.94, 0.01, 0.01], segmentRate: 3.8, brightness: 45, flatness: 25,
      attack: 20, tonality: 0.38, era: [1995, 11], share: 6,
    },
    neighbours: ["rock", "metal"],
  },
  {
    name: "pop",
    genres: [
      "pop", "dance pop", "teen pop", "synthpop", "electropop", "power pop", "indie pop", "europop",
      "j-pop", "k-pop", "bubblegum pop", "new wave", "new romantic", "chamber pop", "dream pop",
      "baroque pop", "adult contemporary", "schlager", "chanson", "ballad", "pop folk",
      "sunshine pop",
    ],
    profile: {
      tempo: [117, 20], loudness: [-7, 2.4], major: 0.76, duration: [220, 0.22],
      meter: [0.01, 0.06, 0.91, 0.01, 0.01], segmentRate: 3.3, brightness: 5, flatness: -5,
      attack: 15, tonality: 0.68, era: [1994, 14], share: 12,
    },
    neighbours: ["rock", "dance", "rhythm and blues", "electronic"],
  },
  {
    name: "electronic",
    genres: [
      "electronic", "electronica", "idm", "techno", "minimal techno", "detroit techno", "house",
      "deep house", "tech house", "progressive house", "acid house", "trance", "progressive trance",
      "psytrance", "goa trance", "drum and bass", "jungle", "dubstep", "breakbeat", "big beat",
      "downtempo", "trip hop", "electro", "industrial", "ebm", "glitch", "hardcore techno",
      "gabber", "uk garage", "electroclash",
    ],
    profile: {
      tempo: [128, 14], loudness: [-8, 3], major: 0.44, duration: [300, 0.35],
      meter: [0.02, 0.02, 0.94, 0.01, 0.01], segmentRate: 3.7, brightness: -10, flatness: 40,
      attack: -15, tonality: 0.32, era: [2003, 6], share: 10,
    },
    neighbours: ["dance", "ambient and new age", "pop", "hip hop"],
  },
  {
    name: "dance",
    genres: [
      "disco", "dance", "club dance", "eurodance", "hi-nrg", "italo disco", "freestyle",
      "euro disco", "nu disco", "dance music", "hands up", "latin freestyle",
    ],
    profile: {
      tempo: [124, 9], loudness: [-6.5, 2], major: 0.6, duration: [265, 0.3],
      meter: [0.01, 0.01, 0.96, 0.01, 0.01], segmentRate: 3.6, brightness: 0, flatness: 30,
      attack: 0, tonality: 0.5, era: [1990, 14], share: 5,
    },
    neighbours: ["electronic", "pop", "rhythm and blues"],
  },
  {
    name: "hip hop",
    genres: [
      "hip hop", "rap", "gangster rap", "underground rap", "alternative rap", "west coast rap",
      "east coast rap", "southern rap", "dirty south rap", "crunk", "g funk", "hardcore hip hop",
      "underground hip hop", "conscious hip hop", "jazz rap", "turntablism", "grime", "pop rap",
      "horrorcore", "old school hip hop", "bounce", "hyphy",
    ],
    profile: {
      tempo: [94, 11], loudness: [-6.2, 2], major: 0.48, duration: [230, 0.25],
      meter: [0.02, 0.02, 0.94, 0.01, 0.01], segmentRate: 3.5, brightness: -25, flatness: 45,
      attack: 30, tonality: 0.3, era: [2001, 7], share: 8,
    },
    neighbours: ["rhythm and blues", "electronic", "reggae"],
  },
  {
    name: "rhythm and blues",
    genres: [
      "r&b", "soul", "neo soul", "funk", "motown", "northern soul", "contemporary r&b",
      "new jack swing", "quiet storm", "p-funk", "southern soul", "doo-wop", "rhythm and blues",
      "urban", "soul music", "philly soul",
    ],
    profile: {
      tempo: [101, 19], loudness: [-8, 2.8], major: 0.58, duration: [245, 0.24],
      meter: [0.01, 0.08, 0.89, 0.01, 0.01], segmentRate: 3.0, brightness: -15, flatness: 10,
      attack: 20, tonality: 0.6, era: [1984, 17], share: 7,
    },
    neighbours: ["hip hop", "pop", "jazz", "blues"],
  },
  {
    name: "jazz",
    genres: [
      "jazz", "bebop", "hard bop", "cool jazz", "smooth jazz", "jazz fusion", "free jazz",
      "vocal jazz", "swing", "big band", "latin jazz", "acid jazz", "modal jazz",
      "avant-garde jazz", "dixieland", "soul jazz", "post-bop", "gypsy jazz", "nu jazz", "ragtime",
      "jazz funk",
    ],
    profile: {
      tempo: [121, 38], loudness: [-14, 4], major: 0.55, duration: [300, 0.4],
      meter: [0.02, 0.12, 0.8, 0.04, 0.02], segmentRate: 2.9, brightness: -35, flatness: -20,
      attack: 5, tonality: 0.72, era: [1974, 19], share: 6,
    },
    neighbours: ["blues", "rhythm and blues", "latin", "classical"],
  },
  {
    name: "blues",
    genres: [
      "blues", "delta blues", "chicago blues", "electric blues", "texas blues", "piano blues",
      "country blues", "jump blues", "harmonica blues", "british blues", "soul blues",
      "modern blues", "memphis blues", "boogie-woogie",
    ],
    profile: {
      tempo: [106, 28], loudness: [-11, 3.5], major: 0.66, duration: [245, 0.3],
      meter: [0.02, 0.14, 0.82, 0.01, 0.01], segmentRate: 2.7, brightness: -5, flatness: -10,
      attack: 12, tonality: 0.58, era: [1972, 18], share: 4,
    },
    neighbours: ["rock", "jazz", "rhythm and blues", "country and folk"],
  },
  {
    name: "country and folk",
    genres: [
      "country", "alternative country", "country rock", "bluegrass", "honky tonk", "outlaw country",
      "americana", "western swing", "country pop", "nashville sound", "folk", "contemporary folk",
      "folk-pop", "singer-songwriter", "indie folk", "anti-folk", "celtic", "irish folk",
      "british folk", "neofolk", "freak folk", "old-time", "traditional folk",
    ],
    profile: {
      tempo: [114, 27], loudness: [-10, 3.2], major: 0.86, duration: [215, 0.22],
      meter: [0.02, 0.16, 0.8, 0.01, 0.01], segmentRate: 2.7, brightness: -20, flatness: -25,
      attack: 25, tonality: 0.78, era: [1991, 16], share: 8,
    },
    neighbours: ["rock", "blues", "pop", "religious"],
  },
  {
    name: "classical",
    genres: [
      "classical", "opera", "baroque", "romantic", "chamber music", "symphony", "orchestral",
      "contemporary classical", "minimalism", "choral", "early music", "modern classical",
      "neoclassical", "soundtrack", "film score", "musical", "show tunes", "video game music",
    ],
    profile: {
      tempo: [101, 33], loudness: [-19, 5], major: 0.62, duration: [280, 0.5],
      meter: [0.04, 0.25, 0.66, 0.03, 0.02], segmentRate: 2.3, brightness: -50, flatness: -40,
      attack: -25, tonality: 0.86, era: [1996, 11], share: 4,
    },
    neighbours: ["ambient and new age", "jazz"],
  },
  {
    name: "reggae",
    genres: [
      "reggae", "roots reggae", "dub", "dancehall", "ska", "rocksteady", "lovers rock", "ragga",
      "reggae fusion", "two tone",
    ],
    profile: {
      tempo: [84, 16], loudness: [-8.5, 2.8], major: 0.62, duration: [235, 0.24],
      meter: [0.01, 0.02, 0.95, 0.01, 0.01], segmentRate: 3.1, brightness: -30, flatness: 20,
      attack: 35, tonality: 0.5, era: [1986, 13], share: 3,
    },
    neighbours: ["hip hop", "latin", "world"],
  },
  {
    name: "latin",
    genres: [
      "latin", "salsa", "merengue", "bachata", "cumbia", "bossa nova", "samba", "tango", "flamenco",
      "latin pop", "reggaeton", "mariachi", "ranchera", "tejano", "norteno", "bolero", "mpb", "son",
      "latin rock", "rumba", "banda", "vallenato",
    ],
    profile: {
      tempo: [119, 24], loudness: [-8, 2.8], major: 0.56, duration: [240, 0.24],
      meter: [0.01, 0.12, 0.85, 0.01, 0.01], segmentRate: 3.3, brightness: 10, flatness: 0,
      attack: 30, tonality: 0.62, era: [1994, 13], share: 4,
    },
    neighbours: ["world", "pop", "jazz"],
  },
  {
    name: "world",
    genres: [
      "world", "world music", "afrobeat", "highlife", "soukous", "african", "klezmer", "fado",
      "bhangra", "qawwali", "indian classical", "bollywood", "balkan", "polka", "zydeco", "cajun",
      "calypso", "soca", "zouk", "gypsy", "middle eastern",
    ],
    profile: {
      tempo: [116, 30], loudness: [-11, 3.6], major: 0.54, duration: [260, 0.35],
      meter: [0.03, 0.15, 0.72, 0.06, 0.04], segmentRate: 3.0, brightness: 0, flatness: -15,
      attack: 15, tonality: 0.6, era: [1993, 14], share: 3,
    },
    neighbours: ["latin", "reggae", "country and folk"],
  },
  {
    name: "ambient and new age",
    genres: [
      "ambient", "new age", "dark ambient", "drone", "meditation", "space music", "easy listening",
      "lounge", "exotica", "chill-out", "relaxation", "healing",
    ],
    profile: {
      tempo: [96, 30], loudness: [-17, 4.5], major: 0.55, duration: [290, 0.45],
      meter: [0.08, 0.12, 0.76, 0.02, 0.02], segmentRate: 1.9, brightness: -45, flatness: -10,
      attack: -40, tonality: 0.7, era: [2000, 9], share: 3,
    },
    neighbours: ["electronic", "classical", "jazz"],
  },
  {
    name: "religious",
    genres: [
      "gospel", "christian rock", "christian", "ccm", "worship", "southern gospel",
      "christian metal", "christian hip hop", "praise",
    ],
    profile: {
      tempo: [106, 24], loudness: [-9, 3], major: 0.86, duration: [260, 0.22],
      meter: [0.01, 0.12, 0.85, 0.01, 0.01], segmentRate: 2.9, brightness: -10, flatness: -15,
      attack: 10, tonality: 0.76, era: [2002, 7], share: 2,
    },
    neighbours: ["country and folk", "pop", "rock"],
  },
];

/** Every genre name, once. */
export const GENRES: readonly string[] = [...new Set(GENRE_FAMILIES.flatMap((f) => f.genres))];

export interface Place {
  /** The artist_location string. */
  readonly location: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Artist terms naming the place, from most to least specific. */
  readonly terms: readonly string[];
}

// biome-ignore format: a table, one place per line
export const PLACES: readonly Place[] = [
  { location: "New York, NY", latitude: 40.71455, longitude: -74.00712, terms: ["new york", "nyc", "american", "united states"] },
  { location: "Brooklyn, NY", latitude: 40.65507, longitude: -73.94888, terms: ["brooklyn", "new york", "american"] },
  { location: "Los Angeles, CA", latitude: 34.05349, longitude: -118.24532, terms: ["los angeles", "california", "american", "united states"] },
  { location: "California - LA", latitude: 34.05349, longitude: -118.24532, terms: ["california", "west coast", "american"] },
  { location: "San Francisco, CA", latitude: 37.77916, longitude: -122.42005, terms: ["san francisco", "san francisco bay area", "california", "american"] },
  { location: "Oakland, CA", latitude: 37.80506, longitude: -122.27302, terms: ["oakland", "san francisco bay area", "california"] },
  { location: "Chicago, IL", latitude: 41.88415, longitude: -87.63241, terms: ["chicago", "illinois", "american"] },
  { location: "Detroit, MI", latitude: 42.33168, longitude: -83.04792, terms: ["detroit", "michigan", "american"] },
  { location: "Nashville, TN", latitude: 36.16778, longitude: -86.77836, terms: ["nashville", "tennessee", "american"] },
  { location: "Memphis, TN", latitude: 35.14968, longitude: -90.04892, terms: ["memphis", "tennessee", "american"] },
  { location: "Atlanta, GA", latitude: 33.74831, longitude: -84.39111, terms: ["atlanta", "georgia", "dirty south", "american"] },
  { location: "New Orleans, LA", latitude: 29.95369, longitude: -90.07771, terms: ["new orleans", "louisiana", "american"] },
  { location: "Austin, TX", latitude: 30.26759, longitude: -97.74299, terms: ["austin", "texas", "american"] },
  { location: "Seattle, WA", latitude: 47.60356, longitude: -122.32944, terms: ["seattle", "washington", "american"] },
  { location: "Boston, MA", latitude: 42.35888, longitude: -71.05682, terms: ["boston", "massachusetts", "american"] },
  { location: "Minneapolis, MN", latitude: 44.97903, longitude: -93.26493, terms: ["minneapolis", "minnesota", "american"] },
  { location: "Texas", latitude: 31.1689, longitude: -100.07715, terms: ["texas", "american", "united states"] },
  { location: "London, England", latitude: 51.50632, longitude: -0.12714, terms: ["london", "uk", "british", "english"] },
  { location: "Manchester, England", latitude: 53.47894, longitude: -2.24503, terms: ["manchester", "uk", "british", "english"] },
  { location: "Liverpool, England", latitude: 53.41049, longitude: -2.97794, terms: ["liverpool", "uk", "british"] },
  { location: "Bristol, England", latitude: 51.45238, longitude: -2.59573, terms: ["bristol", "uk", "british"] },
  { location: "Glasgow, Scotland", latitude: 55.85729, longitude: -4.24251, terms: ["glasgow", "scottish", "uk", "british"] },
  { location: "Dublin, Ireland", latitude: 53.34376, longitude: -6.24953, terms: ["dublin", "irish", "ireland"] },
  { location: "Kingston, Jamaica", latitude: 17.99702, longitude: -76.79358, terms: ["jamaica", "jamaican", "kingston"] },
  { location: "Toronto, Ontario, Canada", latitude: 43.64856, longitude: -79.38533, terms: ["toronto", "canadian", "canada"] },
  { location: "Montreal, Quebec, Canada", latitude: 45.51228, longitude: -73.55439, terms: ["montreal", "quebec", "canadian"] },
  { location: "Paris, France", latitude: 48.85692, longitude: 2.34121, terms: ["paris", "french", "france"] },
  { location: "Berlin, Germany", latitude: 52.51607, longitude: 13.37698, terms: ["berlin", "german", "germany"] },
  { location: "Düsseldorf, Germany", latitude: 51.22496, longitude: 6.77567, terms: ["german", "germany"] },
  { location: "Stockholm, Sweden", latitude: 59.33217, longitude: 18.06243, terms: ["stockholm", "swedish", "sweden"] },
  { location: "Göteborg, Sweden", latitude: 57.70133, longitude: 11.96689, terms: ["gothenburg", "swedish", "sweden"] },
  { location: "Oslo, Norway", latitude: 59.91228, longitude: 10.74998, terms: ["oslo", "norwegian", "norway"] },
  { location: "Reykjavík, Iceland", latitude: 64.13548, longitude: -21.89541, terms: ["icelandic", "iceland"] },
  { location: "Helsinki, Finland", latitude: 60.17116, longitude: 24.93258, terms: ["helsinki", "finnish", "finland"] },
  { location: "Barcelona, Spain", latitude: 41.38562, longitude: 2.16803, terms: ["barcelona", "catalan", "spanish"] },
  { location: "Madrid, Spain", latitude: 40.4203, longitude: -3.70577, terms: ["madrid", "spanish", "spain"] },
  { location: "Lisboa, Portugal", latitude: 38.72639, longitude: -9.14949, terms: ["lisbon", "portuguese", "portugal"] },
  { location: "Roma, Italy", latitude: 41.90311, longitude: 12.49576, terms: ["italian", "italy"] },
  { location: "Rio de Janeiro, Brazil", latitude: -22.97673, longitude: -43.19508, terms: ["rio de janeiro", "brazilian", "brazil"] },
  { location: "São Paulo, Brazil", latitude: -23.56287, longitude: -46.65468, terms: ["sao paulo", "brazilian", "brazil"] },
  { location: "México D.F., Mexico", latitude: 19.43196, longitude: -99.13315, terms: ["mexican", "mexico", "latin"] },
  { location: "Buenos Aires, Argentina", latitude: -34.60852, longitude: -58.37354, terms: ["argentina", "argentinian", "buenos aires"] },
  { location: "La Habana, Cuba", latitude: 23.1168, longitude: -82.38859, terms: ["cuban", "cuba", "havana"] },
  { location: "Lagos, Nigeria", latitude: 6.44262, longitude: 3.39153, terms: ["nigerian", "nigeria", "african"] },
  { location: "Tokyo, Japan", latitude: 35.68501, longitude: 139.75146, terms: ["japanese", "japan", "tokyo"] },
  { location: "Seoul, South Korea", latitude: 37.56826, longitude: 126.97783, terms: ["korean", "south korea"] },
  { location: "Mumbai, India", latitude: 18.97602, longitude: 72.83328, terms: ["indian", "india", "bollywood"] },
  { location: "Sydney, Australia", latitude: -33.86963, longitude: 151.20695, terms: ["sydney", "australian", "australia"] },
  { location: "Melbourne, Australia", latitude: -37.8175, longitude: 144.96715, terms: ["melbourne", "australian"] },
  { location: "Amsterdam, the Netherlands", latitude: 52.37312, longitude: 4.89319, terms: ["amsterdam", "dutch", "netherlands"] },
];

/** Decade terms by the first year of the decade. */
export const DECADE_TERMS: ReadonlyMap<number, string> = new Map([
  [1920, "20s"],
  [1930, "30s"],
  [1940, "40s"],
  [1950, "50s"],
  [1960, "60s"],
  [1970, "70s"],
  [1980, "80s"],
  [1990, "90s"],
  [2000, "00s"],
  [2010, "10s"],
]);

/** Descriptive artist terms that are neither genres, places nor decades. */
// biome-ignore format: a word list
export const DESCRIPTOR_TERMS: readonly string[] = [
  "male vocalist", "female vocalist", "instrumental", "guitar", "piano", "guitar virtuoso",
  "beautiful", "chill", "mellow", "dark", "melodic", "love songs", "live", "cover", "experimental",
  "underground", "party music", "dance party", "romantic", "energetic", "acoustic", "atmospheric",
  "catchy", "classic", "cool", "funky", "groovy", "hypnotic", "lyrical", "political", "sad", "sexy",
  "soft", "soulful", "uplifting", "producer", "dj", "composer", "saxophone", "violin", "drums",
  "vocal", "duet", "group", "band", "a cappella", "christmas music", "summer", "road trip",
  "driving music",
];
