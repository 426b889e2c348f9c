/**
 * Every setting duikou reads, as data: name, default and help. The README's
 * settings table documents exactly these; nothing else reads process.env.
 */
export interface SettingSpec {
  /** Environment variable name. */
  name: string;
  /** Default when the variable is unset or empty. */
  default: string;
  /** One line for the README and `duikou --help`. */
  help: string;
}

/** All settings, in the order the README lists them. */
export const SETTINGS = [
  {
    name: 'DUIKOU_CORPUS',
    default: '',
    help: 'Your own folder of papers to index instead of the sample; a file name without extension is the document id. Papers you add, metadata you edit and glossary pairs go into it. Unset: the sample papers in corpus/ (read only) plus your library in DUIKOU_DATA/library/.',
  },
  {
    name: 'DUIKOU_DATA',
    default: './data',
    help: 'Folder where duikou keeps your library (library/: papers you add, metadata you edit, glossary pairs, hidden sample papers), its database (duikou.db, your annotations) and persisted index (index.db, rebuilt from the papers when needed).',
  },
  { name: 'PORT', default: '3000', help: 'HTTP port of the web app and API (0 picks a free port).' },
  {
    name: 'HOST',
    default: '127.0.0.1',
    help: 'Address the server binds. Browsers must reach it by 127.0.0.1, localhost, [::1], this address (for 0.0.0.0 or ::, any address or name of the machine) or an allowed host name (below).',
  },
  {
    name: 'DUIKOU_AUTH',
    default: 'token',
    help: 'token: every request needs the access token (sign in once through the printed address). none: no sign-in, for a single-user machine only; refused with a non-loopback HOST.',
  },
  {
    name: 'DUIKOU_TOKEN',
    default: '',
    help: 'Your own access token (at least 16 characters) instead of the random one duikou keeps in the data folder (access-token, readable only by your account).',
  },
  {
    name: 'DUIKOU_ALLOWED_HOSTS',
    default: '',
    help: 'More host names the server answers to, comma-separated (name for any port, name:port for one), e.g. the name of a reverse proxy; requests for any other Host get 421.',
  },
  {
    name: 'DUIKOU_TRUST_PROXY',
    default: '',
    help: "Express's trust proxy: which proxies' X-Forwarded-For / -Host / -Proto to believe (loopback, a hop count, addresses or subnets, comma-separated). Empty: none.",
  },
  {
    name: 'DUIKOU_IMPORT_MEMORY_MB',
    default: '1024',
    help: 'Memory (MB) one import may use in its worker thread; a file that needs more is skipped and named.',
  },
  {
    name: 'DUIKOU_IMPORT_TIMEOUT_S',
    default: '180',
    help: 'Seconds one file may take to import; a file that takes longer is skipped and named.',
  },
  {
    name: 'DUIKOU_IMPORT_MAX_UNZIPPED_MB',
    default: '256',
    help: 'Most MB the parts of a Word (.docx) file may unpack to; checked before the file is read.',
  },
  { name: 'DUIKOU_IMPORT_MAX_PDF_PAGES', default: '5000', help: 'Most pages of a PDF duikou imports.' },
  {
    name: 'DUIKOU_TEXT_CACHE_MB',
    default: '64',
    help: "Memory (MB) for papers' texts read back from the persisted index: a restart reads a paper's text when the reader or an export needs it, only the parts a passage lies in when a search checks or shows that passage, and keeps the most recently used.",
  },
  {
    name: 'DUIKOU_DATABASE_URL',
    default: '',
    help: 'Lab-server mode: a postgres://user:password@host:port/database URL for a library kept in PostgreSQL (annotations, tags and the search index), shared by every app instance pointing at it; see Running a lab server. Empty: the embedded SQLite database in DUIKOU_DATA.',
  },
  {
    name: 'DUIKOU_DATABASE_POOL_SIZE',
    default: '10',
    help: 'Lab-server mode: PostgreSQL connections each app instance keeps open at most.',
  },
  {
    name: 'DUIKOU_STATEMENT_TIMEOUT_MS',
    default: '30000',
    help: 'Lab-server mode: longest a single database statement may run, in milliseconds, before PostgreSQL cancels it (0: no limit).',
  },
] as const satisfies readonly SettingSpec[];

/** Names of the known settings. */
export type SettingName = (typeof SETTINGS)[number]['name'];

/**
 * The value of a setting: the environment's when set and non-empty, else its default.
 * @param env - the environment to read, `process.env` unless a test passes its own
 */
export function setting(name: SettingName, env: NodeJS.ProcessEnv = process.env): string {
  const spec = SETTINGS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown setting ${name}`);
  const value = env[name];
  return value !== undefined && value !== '' ? value : spec.default;
}
