package dev.sapienseg.batch;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.ShapeSettings;
import dev.sapienseg.config.StandaloneConfig;
import dev.sapienseg.shapes.ShapeOptions;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.image.OpenCvLimits;
import dev.sapienseg.lifecycle.ModelRuntime;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.output.OutputPlanner;
import dev.sapienseg.output.OutputSet;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ModelPreset;
import dev.sapienseg.provisioning.ProvisionedModel;
import io.smallrye.config.SmallRyeConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code segment}: the batch command over a folder or a list of pictures, Sapiens-Lite's {@code seg.sh} done with
 * the function's pipeline. Exit status: 0 all pictures segmented (or already complete), 1 some failed (listed), 2 the
 * run could not start (bad arguments, no pictures, model not loadable).
 */
@Command(name = "segment", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Segments every picture below a folder (or listed in a file) into Sapiens' outputs: "
                + "<stem>.npy (bool foreground), <stem>_seg.npy (int64 classes), the side-by-side visualisation, "
                + "<stem>_seg.png (palette PNG of class ids) and <stem>.json (summary).")
public final class SegmentCommand implements Callable<Integer> {

    static final int FAILURES = 1;
    static final int CANNOT_RUN = 2;

    @Option(names = "--model", description = "ONNX model: a file (external data beside it), https://…, s3://bucket/key or "
            + "hf://owner/repo[@revision]/file (downloaded once into --cache-dir).")
    String model;

    @Option(names = "--preset", description = "A known export (hf-0.3b, hf-0.6b with -fp16, -q4, -q4f16, -int8, -uint8;"
            + " lite-0.3b … lite-1b-fp16; Sapiens2 hf2-0.4b-fp16, hf2-0.8b, hf2-1b, hf2-5b-int8): its download location"
            + " when --model is not given, and its normalization. The -int8/-uint8 ones run on the CPU only.")
    String preset;

    @Option(names = "--sha256", description = "Expected SHA-256 of the model file; a different file is refused.")
    String sha256;

    @Option(names = "--s3-endpoint", description = "S3 API endpoint for s3:// models (MinIO, Ceph…; path-style). "
            + "Default: AWS. Credentials and region: the AWS environment variables (AWS_REGION, default us-east-1).")
    URI s3Endpoint;

    @Option(names = "--cache-dir", description = "Where downloaded models are kept. Default: sapiens.model.cache-dir "
            + "(~/.cache/sapiens-seg/models).")
    Path cacheDir;

    @Option(names = "--input", required = true, description = "Folder (searched recursively) or text file listing pictures.")
    Path input;

    @Option(names = "--output", required = true, description = "Output folder; input sub-folders are mirrored.")
    Path output;

    @Option(names = "--batch-size", defaultValue = "8", description = "Pictures per model run (limited by a fixed model batch). Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--jobs", description = "Model sessions per device. Default: sapiens.execution.sessions-per-device (1).")
    Integer jobs;

    @Option(names = "--devices", split = ",", description = "CUDA device ids, e.g. 0,1 (with --provider cuda). "
            + "Default: sapiens.execution.device-ids (0).")
    List<Integer> devices;

    @Option(names = "--provider", description = "cpu, cuda or tensorrt. Default: sapiens.execution.provider (cpu).")
    String provider;

    @Option(names = "--cuda-fallback", description = "When CUDA is unusable: cpu or fail. "
            + "Default: sapiens.execution.cuda-fallback (cpu).")
    String cudaFallback;

    @Option(names = "--normalization", description = "lite (Sapiens-Lite) or imagenet (onnx-community exports). "
            + "Default: the preset's, else the model family's (lite for Sapiens v1, imagenet for Sapiens2).")
    String normalization;

    @Option(names = "--threads", description = "Decode and post-processing threads each. Default: the number of cores.")
    Integer threads;

    @Option(names = "--max-pixels", defaultValue = "100000000", description = "Largest picture in pixels. Default: ${DEFAULT-VALUE}.")
    long maxPixels;

    @Option(names = "--outputs", defaultValue = "mask-npy,class-npy,class-png,overlay,summary", description = "Files per"
            + " picture, comma-separated: mask-npy (<stem>.npy), class-npy (<stem>_seg.npy), class-png (<stem>_seg.png),"
            + " overlay (the visualisation), selection-mask (<stem>_selection.png), cutout (<stem>_cutout.png),"
            + " alpha (<stem>_alpha.png), instances (<stem>_instances.png), rle (<stem>_rle.json), polygons"
            + " (<stem>_polygons.json), logits-npy (<stem>_logits.npy), coco (one coco.json for the run, with rle),"
            + " summary (<stem>.json, always written)."
            + " Default: ${DEFAULT-VALUE}.")
    String outputKinds;

    @Option(names = "--select", description = "Classes of the selection-mask and cutout outputs: groups (person, face,"
            + " head, hair, skin, clothing, upper-body, lower-body…), class names or ids, joined with +. Adds"
            + " selection-mask when --outputs has neither. Default: sapiens.selection.classes (person).")
    String select;

    @Option(names = "--invert", description = "Select every class but those of --select (say, everything but the face).")
    boolean invert;

    @Option(names = "--edges", description = "The cutout's edges: hard (the class map's) or soft (the selection's"
            + " alpha). Default: sapiens.selection.edges (hard).")
    String edges;

    @Option(names = "--force", description = "Redo pictures whose outputs are already complete.")
    boolean force;

    @Option(names = "--progress", defaultValue = "auto", description = "bar, log or auto (a bar on a terminal). Default: ${DEFAULT-VALUE}.")
    String progressStyle;

    private final PrintStream out;
    private final PrintStream err;

    public SegmentCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Parses and runs; returns the exit status. */
    public static int execute(PrintStream out, PrintStream err, String... args) {
        CommandLine cli = new CommandLine(new SegmentCommand(out, err));
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        return cli.execute(args);
    }

    /** Thrown by the steps before the run: the message for stderr, and exit status {@value #CANNOT_RUN}. */
    private static final class CannotRun extends Exception {
        CannotRun(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() throws Exception {
        OpenCvLimits.apply(maxPixels); // before anything loads OpenCV, which reads its pixel cap once
        try {
            SmallRyeConfig settings = settings();
            SapiensConfig config = StandaloneConfig.sapiens(settings);
            Set<OutputKind> kinds = outputKinds();
            ModelChoice choice = choice(config);
            BatchInputs.Found found = inputs();
            List<SegmentationModel> sessions = load(choice, config, settings);
            try {
                return run(choice, config, sessions, plan(kinds, sessions, config), found);
            } finally {
                sessions.forEach(SegmentationModel::close);
            }
        } catch (CannotRun e) {
            err.println(e.getMessage());
            return CANNOT_RUN;
        }
    }

    private SmallRyeConfig settings() throws CannotRun {
        try {
            SmallRyeConfig settings = StandaloneConfig.load(overrides());
            StandaloneConfig.sapiens(settings);
            return settings;
        } catch (RuntimeException e) {
            throw new CannotRun("invalid option: " + rootMessage(e));
        }
    }

    private Set<OutputKind> outputKinds() throws CannotRun {
        try {
            return OutputSet.parse(outputKinds).kinds();
        } catch (IllegalArgumentException e) {
            throw new CannotRun("invalid --outputs: " + e.getMessage());
        }
    }

    private ModelChoice choice(SapiensConfig config) throws CannotRun {
        try {
            ModelChoice choice = ModelRuntime.choose(config.model(), ModelChoice.Names.COMMAND);
            ModelRuntime.checkProvider(choice, config.execution().provider());
            if (batchSize < 1 || config.execution().sessionsPerDevice() < 1 || config.execution().deviceIds().isEmpty()) {
                throw new CannotRun("--batch-size and --jobs must be at least 1, --devices not empty");
            }
            return choice;
        } catch (ModelLoadException e) {
            throw new CannotRun(e.getMessage());
        }
    }

    private BatchInputs.Found inputs() throws CannotRun, java.io.IOException {
        if (!Files.exists(input)) {
            throw new CannotRun("input not found: " + input);
        }
        if (Files.isDirectory(input) && Files.exists(output) && Files.isSameFile(input, output)) {
            throw new CannotRun("--output must differ from --input: visualisations are named like the pictures and"
                    + " would overwrite them");
        }
        BatchInputs.Found found = BatchInputs.collect(input, output);
        if (found.images().isEmpty() && found.problems().isEmpty()) {
            throw new CannotRun("no pictures (" + String.join(" ", ImageFormat.pictureExtensions()) + ") found in " + input);
        }
        return found;
    }

    private List<SegmentationModel> load(ModelChoice choice, SapiensConfig config, SmallRyeConfig settings)
            throws CannotRun {
        try {
            ProvisionedModel file = ModelRuntime.provision(choice, config.model(), config.execution().provider(),
                    () -> StandaloneConfig.s3Client(settings), new DownloadProgress());
            // Every run but a folder's last takes the full batch: that one shape is warmed.
            return ModelRuntime.loadSessions(file, config.model(), config.execution(), List.of(perRun(choice)));
        } catch (ModelLoadException e) {
            throw new CannotRun("cannot load the model: " + e.getMessage());
        }
    }

    /** The outputs and selection of every picture, for the loaded model's classes. */
    private OutputPlan plan(Set<OutputKind> kinds, List<SegmentationModel> sessions, SapiensConfig config)
            throws CannotRun {
        ShapeOptions shapes;
        try {
            shapes = ShapeSettings.options(config.shapes());
        } catch (IllegalArgumentException e) {
            throw new CannotRun("invalid setting: " + e.getMessage());
        }
        try {
            OutputPlanner planner = new OutputPlanner(Vocabulary.of(sessions.get(0).contract().family()),
                    config.selection().classes(), config.selection().invert(), config.selection().edges(), shapes);
            return planner.plan(kinds, select, invert ? Boolean.TRUE : null);
        } catch (IllegalArgumentException | SegmentationException e) {
            throw new CannotRun("invalid --select: " + e.getMessage());
        }
    }

    /** Pictures per model run: --batch-size, or 1 for a preset that runs one picture at a time. */
    private int perRun(ModelChoice choice) {
        return Math.min(batchSize, choice.preset().map(ModelPreset::maxBatch).orElse(Integer.MAX_VALUE));
    }

    private int run(ModelChoice choice, SapiensConfig config, List<SegmentationModel> sessions, OutputPlan plan,
            BatchInputs.Found found) throws InterruptedException {
        int workers = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        int perRun = perRun(choice);
        BatchOutputs outputs = new BatchOutputs(output, plan);
        BatchRunner runner = new BatchRunner(sessions, new BatchRunner.Settings(perRun, workers, force,
                choice.normalizationFor(sessions.get(0).contract().family())),
                new ImageDecoder(new ImageLimits(Long.MAX_VALUE, maxPixels)), outputs);
        SegmentationModel first = sessions.get(0);
        int pictures = found.images().size() + found.problems().size();
        err.printf("model %s on %s%s, %d session(s), batch %d, %d picture(s) -> %s%n", first.name(),
                first.provider().label(), first.providerNote() != null ? " (" + first.providerNote() + ")" : "",
                sessions.size(), runner.batchCapacity(), pictures, output);
        if (first.isDemo()) {
            err.println("note: " + first.name() + " is the pipeline demo model, not a real segmenter");
        }
        Progress progress = new Progress(pictures, err, terminal());
        for (BatchInputs.Problem problem : found.problems()) {
            progress.failed(problem.entry(), problem.reason());
        }
        runner.run(found.images(), progress);
        int status = summarise(progress);
        if (plan.has(OutputKind.COCO) && !CocoDataset.writeAfterRun(output, found.images(), outputs, first, out, err)) {
            return FAILURES;
        }
        return status;
    }

    /**
     * The command's options as configuration keys, on top of application.properties and the environment: the same
     * settings and defaults as the server, except where the command differs (no demo model; ONNX Runtime threads
     * shared out between the jobs on CPU).
     */
    Map<String, String> overrides() {
        Map<String, String> keys = new HashMap<>();
        keys.put("sapiens.model.demo-path", ""); // a batch run without a model is a mistake, not a demo
        if (model != null) {
            keys.put("sapiens.model.path", model);
            keys.put("sapiens.model.uri", "");
        }
        putIfSet(keys, "sapiens.model.preset", preset);
        putIfSet(keys, "sapiens.model.sha256", sha256);
        putIfSet(keys, "sapiens.model.cache-dir", cacheDir);
        putIfSet(keys, "sapiens.model.normalization", normalization);
        putIfSet(keys, "sapiens.selection.edges", edges);
        putIfSet(keys, "sapiens.execution.provider", provider);
        putIfSet(keys, "sapiens.execution.cuda-fallback", cudaFallback);
        putIfSet(keys, "sapiens.execution.sessions-per-device", jobs);
        if (devices != null) {
            keys.put("sapiens.execution.device-ids", devices.stream().map(String::valueOf).collect(Collectors.joining(",")));
        }
        if (provider == null || provider.equalsIgnoreCase("cpu")) {
            int cores = Runtime.getRuntime().availableProcessors();
            keys.putIfAbsent("sapiens.execution.intra-op-threads", String.valueOf(Math.max(1, cores / Math.max(1,
                    jobs == null ? 1 : jobs))));
        }
        if (s3Endpoint != null) {
            keys.put("quarkus.s3.endpoint-override", s3Endpoint.toString());
        }
        return keys;
    }

    private static void putIfSet(Map<String, String> keys, String key, Object value) {
        if (value != null) {
            keys.put(key, value.toString());
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage());
    }

    private int summarise(Progress progress) {
        List<Progress.Failure> failures = progress.failures();
        double seconds = progress.seconds();
        out.printf("segmented %d, skipped %d (outputs complete), failed %d in %.1f s (%.2f img/s)%n",
                progress.segmentedCount(), progress.skippedCount(), failures.size(), seconds,
                seconds > 0 ? progress.segmentedCount() / seconds : 0);
        for (Progress.Failure f : failures) {
            out.println("  failed: " + f.image() + ": " + f.reason());
        }
        return failures.isEmpty() ? 0 : FAILURES;
    }

    private boolean terminal() {
        return switch (progressStyle) {
            case "bar" -> true;
            case "log" -> false;
            default -> System.console() != null;
        };
    }
}
