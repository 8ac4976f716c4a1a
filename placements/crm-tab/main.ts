import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import CrmTabView from '../../app/views/CrmTabView.vue';

// No UI kit here: this page must stay light (≤ 100 kB gzip).
const boot = loadBoot(document, 'crm-tab', navigator.language);
document.documentElement.lang = boot.lang;

createApp(CrmTabView).use(createPinia()).use(pageContext(boot)).mount('#app');
