import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import ConnectorView from '../../app/views/ConnectorView.vue';

// No UI kit here: this page must stay light (≤ 100 kB gzip).
const boot = loadBoot(document, 'connector', navigator.language);
document.documentElement.lang = boot.lang;

createApp(ConnectorView).use(createPinia()).use(pageContext(boot)).mount('#app');
