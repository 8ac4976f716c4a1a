import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import LeftMenuView from '../../app/views/LeftMenuView.vue';

// No UI kit here: this page must stay light (≤ 100 kB gzip).
const boot = loadBoot(document, 'left-menu', navigator.language);
document.documentElement.lang = boot.lang;

createApp(LeftMenuView).use(createPinia()).use(pageContext(boot)).mount('#app');
