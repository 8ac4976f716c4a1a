import { createApp } from 'vue';
import { createPinia } from 'pinia';
import b24UiPlugin from '@bitrix24/b24ui-nuxt/vue-plugin';
import '../../app/styles/kit.css';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import { settingsMessages } from '../../app/i18n/settings-messages';
import SettingsView from '../../app/views/SettingsView.vue';

const boot = loadBoot(document, 'app', navigator.language);
document.documentElement.lang = boot.lang;

createApp(SettingsView).use(createPinia()).use(b24UiPlugin).use(pageContext(boot, undefined, settingsMessages)).mount('#app');
