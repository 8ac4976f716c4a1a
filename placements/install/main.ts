import { createApp } from 'vue';
import { createPinia } from 'pinia';
import b24UiPlugin from '@bitrix24/b24ui-nuxt/vue-plugin';
import '../../app/styles/kit.css';
import { loadBoot } from '../../app/boot';
import { pageContext } from '../../app/page-context';
import InstallView from '../../app/views/InstallView.vue';

const boot = loadBoot(document, 'install', navigator.language);
document.documentElement.lang = boot.lang;

createApp(InstallView).use(createPinia()).use(b24UiPlugin).use(pageContext(boot)).mount('#app');
