using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace XksGrpc.Edge.Authentication;

/// <summary>Registers SigV4 verification (spec Appendix A) and the credential store it reads.</summary>
internal static class SigV4ServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="SigningKeyCache"/>, <see cref="CredentialStore"/> (also as <see cref="ISigV4CredentialSource"/>)
    /// and <see cref="SigV4Verifier"/>, all singletons, using the registered <see cref="TimeProvider"/>
    /// (<see cref="TimeProvider.System"/> if none) and <see cref="SigV4VerifierOptions"/> from the options system.
    /// The caller loads credentials with <see cref="CredentialStore.ApplyOrThrow"/> at start and
    /// <see cref="CredentialStore.Apply"/> on every configuration reload.
    /// </summary>
    public static IServiceCollection AddSigV4Verification(this IServiceCollection services, Action<SigV4VerifierOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        OptionsBuilder<SigV4VerifierOptions> options = services.AddOptions<SigV4VerifierOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(_ => new SigningKeyCache());
        services.TryAddSingleton(sp => new CredentialStore(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<SigningKeyCache>()));
        services.TryAddSingleton<ISigV4CredentialSource>(sp => sp.GetRequiredService<CredentialStore>());
        services.TryAddSingleton(sp => new SigV4Verifier(
            sp.GetRequiredService<ISigV4CredentialSource>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<SigV4VerifierOptions>>().Value,
            sp.GetRequiredService<SigningKeyCache>()));
        return services;
    }
}
