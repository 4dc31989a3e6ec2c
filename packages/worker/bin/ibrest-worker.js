#!/usr/bin/env node
// Committed entry point so npm can link and chmod it at install time, before the first build.
import '../dist/src/main.js';
