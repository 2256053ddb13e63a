using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;
using MetaGrad.TensorBoard;
using MetaGrad.Tests.TensorBoard;

namespace MetaGrad.Tests.Training;

/// <summary>A user's own loop with the helpers, as the README shows it (on 2,000 digits): progress, TensorBoard, early stopping, curves.</summary>
public class TrainingLoopTests
{
    [Fact]
    public void HelpersInAUsersLoop_ShowLogStopAndDraw()
    {
        using var dir = new TempFolder();
        var generator = new Generator(0);
        var model = new Sequential(new Linear(784, 64, generator: generator), new ReLU(), new Linear(64, 10, generator: generator));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        var train = new Mnist(Mnist.FindMini(), train: true);
        var loader = new DataLoader(new TensorDataset(train.Images[..2000], train.Labels[..2000]), batchSize: 64, shuffle: true, generator: generator);
        var (testImages, testLabels) = (train.Images[2000..2500].Flatten(1), train.Labels[2000..2500]);
        var progress = new StringWriter();

        using (var writer = new SummaryWriter(dir.File("runs")))
        {
            var stopping = new EarlyStopping(patience: 2);
            var (trainLosses, testLosses) = (new List<double>(), new List<double>());
            foreach (var epoch in Enumerable.Range(1, 6))
            {
                model.Train();
                var meter = EpochProgress.Run($"epoch {epoch}", loader.Count, ProgressStyle.Lines, meter =>
                {
                    foreach (var batch in loader)
                    {
                        optimizer.ZeroGrad();
                        var loss = Losses.CrossEntropy(model.Forward(batch[0].Flatten(1)), batch[1]);
                        loss.Backward();
                        optimizer.Step();
                        meter.Step(loss.Item<float>(), batch[1].Shape[0]);
                    }
                }, progress);
                model.Eval();
                double testLoss;
                using (Autograd.NoGrad()) testLoss = Losses.CrossEntropy(model.Forward(testImages), testLabels).Item<float>();
                writer.AddScalar("loss/train", meter.MeanLoss, epoch);
                writer.AddScalar("loss/test", testLoss, epoch);
                writer.AddHistogram("0.weight", model.GetParameter("0.weight"), epoch);
                trainLosses.Add(meter.MeanLoss);
                testLosses.Add(testLoss);
                if (stopping.Step(testLoss)) break;
            }
            LearningCurves.SavePng(dir.File("curves.png"), new CurvePanel("Loss", [new("train", trainLosses), new("test", testLosses)]));

            Assert.True(trainLosses[^1] < 0.5 * trainLosses[0], $"train loss {string.Join(", ", trainLosses)}");
            Assert.Equal(4 * trainLosses.Count, progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);   // a line a quarter
            Assert.Equal(trainLosses.Count, stopping.Epochs);
        }
        var events = EventFileReader.Events(dir.File("runs"));
        var stepsLogged = events.Where(e => e.Summary?.Value[0].Tag == "loss/train").Select(e => e.Step).ToList();
        Assert.Equal(Enumerable.Range(1, stepsLogged.Count).Select(e => (long)e), stepsLogged);
        Assert.Equal(stepsLogged.Count, events.Count(e => e.Summary?.Value[0].Histo is not null));
        Assert.True(File.Exists(dir.File("curves.png")));
    }
}
