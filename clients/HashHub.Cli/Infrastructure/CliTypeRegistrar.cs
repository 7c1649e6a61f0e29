using System.Reflection;
using Spectre.Console.Cli;

namespace HashHub.Cli.Infrastructure;

/// <summary>
/// A minimal constructor-injection registrar for Spectre.Console.Cli, so commands receive the <see cref="CliOutput"/>
/// they write to (tests pass captured writers). A container package would be one more dependency for one service.
/// </summary>
/// <remarks>
/// Spectre registers its own services here too (help providers, the console), some several times for one service
/// type and resolved as <see cref="IEnumerable{T}"/>; the last registration wins for a single service.
/// </remarks>
internal sealed class CliTypeRegistrar : ITypeRegistrar
{
    private readonly Dictionary<Type, List<Func<Resolver, object?>>> _registrations = [];

    public CliTypeRegistrar(CliOutput output) => RegisterInstance(typeof(CliOutput), output);

    public void Register(Type service, Type implementation) => Add(service, r => r.Create(implementation));

    public void RegisterInstance(Type service, object implementation) => Add(service, _ => implementation);

    public void RegisterLazy(Type service, Func<object> factory)
    {
        var lazy = new Lazy<object>(factory);
        Add(service, _ => lazy.Value);
    }

    public ITypeResolver Build() =>
        new Resolver(_registrations.ToDictionary(p => p.Key, p => p.Value.ToArray()));

    private void Add(Type service, Func<Resolver, object?> factory)
    {
        if (!_registrations.TryGetValue(service, out var factories))
        {
            _registrations[service] = factories = [];
        }
        factories.Add(factory);
    }

    internal sealed class Resolver(Dictionary<Type, Func<Resolver, object?>[]> registrations) : ITypeResolver
    {
        public object? Resolve(Type? type)
        {
            if (type is null)
            {
                return null;
            }
            if (registrations.TryGetValue(type, out var factories) && factories.Length > 0)
            {
                return factories[^1](this);
            }
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            {
                var element = type.GetGenericArguments()[0];
                var all = registrations.GetValueOrDefault(element, []);
                var array = Array.CreateInstance(element, all.Length);
                for (var i = 0; i < all.Length; i++)
                {
                    array.SetValue(all[i](this), i);
                }
                return array;
            }
            return type.IsAbstract ? null : Create(type);
        }

        public object Create(Type implementation)
        {
            // The constructor with the most parameters, each resolved in turn (commands take CliOutput).
            var constructor = implementation
                .GetConstructors(BindingFlags.Public | BindingFlags.Instance)
                .OrderByDescending(c => c.GetParameters().Length)
                .FirstOrDefault();
            if (constructor is null)
            {
                return Activator.CreateInstance(implementation)
                    ?? throw new InvalidOperationException($"Cannot create {implementation}.");
            }
            var arguments = constructor.GetParameters().Select(p => Resolve(p.ParameterType)).ToArray();
            return constructor.Invoke(arguments);
        }
    }
}
