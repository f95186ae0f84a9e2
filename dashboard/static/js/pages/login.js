import { start } from "../core.js";
start();
