package dev.sapienseg.batch;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.time.Duration;
import java.util.concurrent.Callable;

import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.image.OpenCvLimits;
import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ModelProvisioner;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.Normalization;
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

    @Option(names = "--preset", description = "A known export (hf-0.3b, hf-0.3b-fp16, hf-0.6b, hf-0.6b-fp16, lite-0.3b … "
            + "lite-1b-fp16): its download location when --model is not given, and its normalization.")
    String preset;

    @Option(names = "--sha256", description = "Expected SHA-256 of the model file; a different file is refused.")
    String sha256;

    @Option(names = "--s3-endpoint", description = "S3 API endpoint for s3:// models (MinIO, Ceph…; path-style). "
            + "Default: AWS. Credentials and region: the AWS environment variables (AWS_REGION, default us-east-1).")
    URI s3Endpoint;

    @Option(names = "--cache-dir", defaultValue = "${sys:user.home}/.cache/sapiens-seg/models",
            description = "Where downloaded models are kept. Default: ${DEFAULT-VALUE}.")
    Path cacheDir;

    @Option(names = "--input", required = true, description = "Folder (searched recursively) or text file listing pictures.")
    Path input;

    @Option(names = "--output", required = true, description = "Output folder; input sub-folders are mirrored.")
    Path output;

    @Option(names = "--batch-size", defaultValue = "8", description = "Pictures per model run (limited by a fixed model batch). Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--jobs", defaultValue = "1", description = "Model sessions per device. Default: ${DEFAULT-VALUE}.")
    int jobs;

    @Option(names = "--devices", split = ",", description = "CUDA device ids, e.g. 0,1 (with --provider cuda). Default: 0.")
    List<Integer> devices = new ArrayList<>(List.of(0));

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda. Default: ${DEFAULT-VALUE}.")
    String provider;

    @Option(names = "--cuda-fallback", defaultValue = "cpu", description = "When CUDA is unusable: cpu or fail. Default: ${DEFAULT-VALUE}.")
    String cudaFallback;

    @Option(names = "--normalization", description = "lite (Sapiens-Lite) or imagenet (onnx-community exports). "
            + "Default: the preset's, else lite.")
    String normalization;

    @Option(names = "--threads", description = "Decode and post-processing threads each. Default: the number of cores.")
    Integer threads;

    @Option(names = "--max-pixels", defaultValue = "100000000", description = "Largest picture in pixels. Default: ${DEFAULT-VALUE}.")
    long maxPixels;

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

    @Override
    public Integer call() throws Exception {
        OpenCvLimits.apply(maxPixels); // before anything loads OpenCV, which reads its pixel cap once
        ExecutionProvider executionProvider;
        Optional<Normalization> norm;
        try {
            executionProvider = ExecutionProvider.valueOf(provider.toUpperCase(java.util.Locale.ROOT));
            norm = Optional.ofNullable(normalization).map(n -> Normalization.valueOf(n.toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            err.println("unknown --provider or --normalization: " + provider + ", " + normalization);
            return CANNOT_RUN;
        }
        ModelChoice choice;
        try {
            choice = ModelChoice.resolve(Optional.ofNullable(model), Optional.empty(), Optional.ofNullable(preset), norm,
                    Optional.ofNullable(sha256), Optional.empty(), ModelChoice.Names.COMMAND);
        } catch (ModelLoadException e) {
            err.println(e.getMessage());
            return CANNOT_RUN;
        }
        if (batchSize < 1 || jobs < 1 || devices.isEmpty()) {
            err.println("--batch-size and --jobs must be at least 1, --devices not empty");
            return CANNOT_RUN;
        }
        if (!Files.exists(input)) {
            err.println("input not found: " + input);
            return CANNOT_RUN;
        }
        if (Files.isDirectory(input) && Files.exists(output) && Files.isSameFile(input, output)) {
            err.println("--output must differ from --input: visualisations are named like the pictures and would overwrite them");
            return CANNOT_RUN;
        }
        BatchInputs.Found found = BatchInputs.collect(input, output);
        if (found.images().isEmpty() && found.problems().isEmpty()) {
            err.println("no pictures (.jpg .jpeg .png .webp .bmp .tif .tiff) found in " + input);
            return CANNOT_RUN;
        }

        List<SegmentationModel> sessions = new ArrayList<>();
        try {
            Path file = ModelProvisioner.standard(new ModelProvisioner.Settings(cacheDir, 4, Duration.ofSeconds(60),
                    Duration.ofSeconds(2), Duration.ofSeconds(10)), hubEndpoint(), Optional.ofNullable(System.getenv("HF_TOKEN")),
                    this::s3Client, new DownloadProgress()).provision(choice.source(), choice.sha256());
            loadSessions(file, executionProvider, sessions);
        } catch (ModelLoadException e) {
            err.println("cannot load the model: " + e.getMessage());
            sessions.forEach(SegmentationModel::close);
            return CANNOT_RUN;
        }
        try {
            int workers = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
            BatchRunner runner = new BatchRunner(sessions, new BatchRunner.Settings(batchSize, workers, force, choice.normalization()),
                    new ImageDecoder(new ImageLimits(Long.MAX_VALUE, maxPixels)), new BatchOutputs(output));
            SegmentationModel first = sessions.get(0);
            err.printf("model %s on %s%s, %d session(s), batch %d, %d picture(s) -> %s%n", first.name(),
                    first.provider().label(), first.providerNote() != null ? " (" + first.providerNote() + ")" : "",
                    sessions.size(), runner.batchCapacity(), found.images().size() + found.problems().size(), output);
            if (first.isDemo()) {
                err.println("note: " + first.name() + " is the pipeline demo model, not a real segmenter");
            }
            Progress progress = new Progress(found.images().size() + found.problems().size(), err, terminal());
            for (String problem : found.problems()) {
                int colon = problem.indexOf(':');
                progress.failed(problem.substring(0, colon), problem.substring(colon + 2));
            }
            runner.run(found.images(), progress);
            return summarise(progress);
        } finally {
            sessions.forEach(SegmentationModel::close);
        }
    }

    /** Built only for s3:// models; as the function's client: AWS credential chain, region default us-east-1. */
    private S3Client s3Client() {
        String region = System.getenv("AWS_REGION");
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(region == null || region.isBlank() ? "us-east-1" : region))
                .httpClientBuilder(ApacheHttpClient.builder());
        if (s3Endpoint != null) {
            builder.endpointOverride(s3Endpoint).forcePathStyle(true);
        }
        return builder.build();
    }

    private static String hubEndpoint() {
        String endpoint = System.getenv("HF_ENDPOINT");
        return endpoint == null || endpoint.isBlank() ? "https://huggingface.co" : endpoint;
    }

    private void loadSessions(Path model, ExecutionProvider executionProvider, List<SegmentationModel> sessions)
            throws ModelLoadException {
        List<Integer> deviceIds = executionProvider == ExecutionProvider.CUDA ? devices : List.of(0);
        int cores = Runtime.getRuntime().availableProcessors();
        int intraOp = executionProvider == ExecutionProvider.CPU ? Math.max(1, cores / jobs) : 0;
        for (int device : deviceIds) {
            for (int j = 0; j < jobs; j++) {
                sessions.add(SegmentationModel.load(new ModelSettings(model, 1024, 768, executionProvider, device,
                        Map.of("use_tf32", "0"), "cpu".equalsIgnoreCase(cudaFallback), intraOp, 0)));
            }
        }
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
