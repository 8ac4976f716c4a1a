/**
 * Who calls `/api/*`: set by the API router's authentication (routes/api.ts) from the page session,
 * read by every router it mounts. Its own module, so the routers do not import the router that
 * mounts them (that was an import cycle).
 */
export interface ApiCaller {
  memberId: string;
  userId: number;
  isAdmin: boolean;
}
