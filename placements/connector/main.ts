import { createApp } from 'vue';
import { createPinia } from 'pinia';
import b24UiPlugin from '@bitrix24/b24ui-nuxt/vue-plugin';
import '../../app/styles/kit.css';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import ConnectorView from '../../app/views/ConnectorView.vue';

// A settings slider like the main page: the UI kit (the 100 kB budget is for the left-menu and CRM-tab pages).
const boot = loadBoot(document, 'connector', navigator.language);
document.documentElement.lang = boot.lang;

createApp(ConnectorView).use(createPinia()).use(b24UiPlugin).use(pageContext(boot)).mount('#app');
