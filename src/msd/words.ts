// Words the synthetic MSD builds artist names, song titles and release names from; a few carry
// accents so the generated strings exercise UTF-8 like the real catalogue does.

// biome-ignore format: a word list
export const FIRST_NAMES: readonly string[] = [
  "Adam", "Alice", "Amy", "Ana", "Ben", "Billy", "Björn", "Carla", "Chris", "Dana", "David", "Ella",
  "Emma", "Frank", "Grace", "Hank", "Iris", "Jack", "James", "Jenny", "Joe", "José", "Kate", "Kim",
  "Lars", "Lena", "Louis", "Lucy", "Marco", "María", "Max", "Mia", "Nina", "Otis", "Paul", "Rick",
  "Rosa", "Sam", "Sara", "Sean", "Sonia", "Tom", "Yuki", "Zoë",
];

// biome-ignore format: a word list
export const LAST_NAMES: readonly string[] = [
  "Adams", "Baker", "Brown", "Carter", "Castro", "Davis", "Dubois", "Evans", "Fischer", "García",
  "Gray", "Hall", "Hansen", "Jackson", "Johnson", "King", "Larsen", "Lee", "López", "Martin",
  "Miller", "Moore", "Müller", "Nakamura", "Nielsen", "O'Brien", "Park", "Reed", "Rossi", "Santos",
  "Smith", "Stone", "Taylor", "Turner", "Walker", "White", "Young",
];

// biome-ignore format: a word list
export const ADJECTIVES: readonly string[] = [
  "Black", "Blue", "Broken", "Burning", "Crystal", "Dark", "Electric", "Empty", "Endless", "Golden",
  "Green", "Hidden", "Holy", "Last", "Little", "Lonely", "Lost", "Midnight", "Neon", "Pink",
  "Quiet", "Red", "Silent", "Silver", "Strange", "Sweet", "Velvet", "Wild", "Young",
];

// biome-ignore format: a word list
export const NOUNS: readonly string[] = [
  "Angels", "Birds", "Bones", "City", "Dreams", "Echoes", "Fire", "Flowers", "Ghosts", "Hearts",
  "Horses", "Kings", "Lights", "Lovers", "Machines", "Mirrors", "Monkeys", "Moon", "Ocean", "Rain",
  "Rebels", "Rivers", "Roses", "Shadows", "Sisters", "Stars", "Storm", "Sun", "Tigers", "Trains",
  "Waves", "Wolves", "Café", "Niño", "Søren",
];

// biome-ignore format: a word list
export const TITLE_WORDS: readonly string[] = [
  "Love", "Night", "Heart", "Baby", "Time", "Home", "Fire", "Dance", "Rain", "Tonight", "Dream",
  "Girl", "Boy", "World", "Life", "Soul", "Road", "Summer", "Blue", "Money", "Gone", "Forever",
  "Crazy", "Tears", "Light", "River", "Morning", "Midnight", "Sky", "Angel", "Way", "Again", "Down",
  "Stay", "Run", "Fall", "Shine", "Ghost", "Queen", "Street", "Party", "Lady", "Corazón", "Été",
  "Ångest",
];

// biome-ignore format: a word list
export const TITLE_SUFFIXES: readonly string[] = [
  " (Album Version)", " (Live)", " (Remix)", " (Instrumental)", " (Radio Edit)", " (Acoustic)",
  " (Demo)", " (Remastered)", " (Extended Mix)", " (Skit)",
];
