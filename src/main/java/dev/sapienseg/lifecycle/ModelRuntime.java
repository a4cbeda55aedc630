package dev.sapienseg.lifecycle;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.provisioning.DownloadProgress;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ModelProvisioner;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The one way from settings to loaded sessions, used by the server ({@link SegmentationService}) and the batch command
 * alike: model choice (path, URI, preset, demo) → provisioning (cache, SHA-256, external data, retries) → one session
 * per device and job with the execution settings.
 */
public final class ModelRuntime {

    private static final Logger LOG = Logger.getLogger(ModelRuntime.class);

    private ModelRuntime() {
    }

    /** Which model to serve and how to normalise its input. */
    public static ModelChoice choose(SapiensConfig.Model model, ModelChoice.Names names) throws ModelLoadException {
        return ModelChoice.resolve(model.path(), model.uri(), model.preset(), model.normalization(), model.sha256(),
                model.demoPath(), names);
    }

    /** The local model file for the choice: in place, or downloaded into the cache. */
    public static Path provision(ModelChoice choice, SapiensConfig.Model model, Supplier<S3Client> s3,
            DownloadProgress progress) throws ModelLoadException {
        SapiensConfig.Download downloads = model.download();
        return ModelProvisioner.standard(new ModelProvisioner.Settings(Path.of(model.cacheDir()), downloads.attempts(),
                downloads.stallTimeout(), downloads.backoff(), downloads.progressInterval()), model.hub().endpoint(),
                model.hub().token(), s3, progress).provision(choice.source(), choice.sha256());
    }

    /** One session per device and job; all or nothing (what was loaded is closed when one fails). */
    public static List<SegmentationModel> loadSessions(Path file, SapiensConfig.Model model,
            SapiensConfig.Execution execution) throws ModelLoadException {
        List<Integer> devices = execution.provider() == ExecutionProvider.CUDA ? execution.deviceIds() : List.of(0);
        List<SegmentationModel> sessions = new ArrayList<>();
        try {
            for (int device : devices) {
                for (int job = 0; job < Math.max(1, execution.sessionsPerDevice()); job++) {
                    ModelSettings settings = new ModelSettings(file, model.inputHeight(), model.inputWidth(),
                            execution.provider(), device, execution.cudaOptions(),
                            execution.cudaFallback() == SapiensConfig.CudaFallback.CPU, execution.intraOpThreads(),
                            execution.interOpThreads());
                    LOG.infof("loading model %s on %s (device %d, session %d)", file, execution.provider().label(),
                            device, job + 1);
                    sessions.add(SegmentationModel.load(settings));
                }
            }
            return sessions;
        } catch (ModelLoadException | RuntimeException e) {
            sessions.forEach(SegmentationModel::close);
            throw e;
        }
    }
}
