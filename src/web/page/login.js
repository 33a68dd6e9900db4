// The login form (served by src/web/login.ts in English) in the browser's language.
import { initI18n } from './i18n.js';

initI18n(['login']);
