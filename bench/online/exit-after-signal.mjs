// Preloaded into the gateway child (node --import) by bench/online/run.ts. The bench needs the gateway
// to exit after SIGTERM: Node writes a --cpu-prof profile only on exit, and a server left behind would
// skew the next run. If the gateway is still running a few seconds after the signal, this ends it with
// process.exit (which still writes the profile) and says so on stderr, so the bench can report it.
// Plain JavaScript: it runs before the gateway's own entry registers the TypeScript loader.
const graceMs = Number(process.env.BENCH_EXIT_GRACE_MS ?? 3000);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    // unref: when the gateway shuts down by itself, this timer does not keep it alive.
    setTimeout(() => {
      process.stderr.write(`bench: the gateway was still running ${graceMs} ms after ${signal}; exiting it\n`);
      process.exit(0);
    }, graceMs).unref();
  });
}
