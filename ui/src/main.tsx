import { StrictMode, lazy, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import "./style.css";
import { Layout } from "./Layout";
import { Live } from "./pages/Live";

// The first screen (login, live) loads with the shell; the rest on demand.
const Dashboard = lazy(() => import("./pages/Dashboard"));
const Session = lazy(() => import("./pages/Session"));
const MasList = lazy(() => import("./pages/MasList"));
const MasDetail = lazy(() => import("./pages/MasDetail"));
const Audit = lazy(() => import("./pages/Audit"));
const Cluster = lazy(() => import("./pages/Cluster"));

const page = (el: React.ReactNode) => <Suspense fallback={<p role="status">Loading…</p>}>{el}</Suspense>;

const router = createBrowserRouter([
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: page(<Dashboard />) },
      { path: "live", element: <Live /> },
      { path: "sessions/:id", element: page(<Session />) },
      { path: "systems", element: page(<MasList />) },
      { path: "systems/:id", element: page(<MasDetail />) },
      { path: "audit", element: page(<Audit />) },
      { path: "members", element: page(<Cluster />) },
      { path: "*", element: <p>No such page.</p> },
    ],
  },
]);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <RouterProvider router={router} />
    </StrictMode>,
  );
}
